"""`linkedmode run`: pass/fail per step with the reason, the exit status, the JUnit file naming the
failing step, and --connect to an estate that runs already."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from linkedmode.cli.main import main
from linkedmode.estate import start_estate
from linkedmode.topology import load_topology

TOPOLOGY = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "two-linked-vcenters.yaml"


def scenario(tmp_path: Path, steps: str, name: str = "probe") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ntopology: {TOPOLOGY}\nsteps:\n{steps}")
    return path


WRONG = """\
  - create: {vm: w1, host: esx-a1, datastore: ds-a-shared, memory_mb: 32, migrate_encryption: required, power_on: true}
  - name: expects a move the rules refuse
    migrate: {vm: w1, to_vcenter: vc-b, to_host: esx-b3}
    expect: {mode: encrypted}
  - expect: {vm: w1, vcenter: vc-b}
"""


def test_a_wrong_expectation_fails_its_step_with_the_reason_and_junit_names_it(tmp_path, capsys):
    junit = tmp_path / "out.xml"
    status = main(["run", str(scenario(tmp_path, WRONG)), "--junit", str(junit)])
    out = capsys.readouterr().out
    assert status == 1
    assert "  PASS 1 create w1" in out
    assert ("  FAIL 2 expects a move the rules refuse" in out and "expected success, but failed: MigrationFeatureNotSupported"
            in out and "esx-b3" in out)
    assert "  SKIP 3 expect w1" in out
    assert "FAIL probe: 1 passed, 1 failed, 1 skipped" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("name") == "probe" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["step 2 expects a move the rules refuse"]
    assert "MigrationFeatureNotSupported" in failed[0].find("failure").get("message")


@pytest.mark.parametrize("steps, reason", [
    ("  - migrate: {vm: db-shared-key, to_vcenter: vc-b, to_host: esx-b1}\n    expect: {fault: MigrationFault}\n",
     "expected MigrationFault, but the task succeeded"),
    ("  - migrate: {vm: db-local-key, to_vcenter: vc-b, to_host: esx-b1}\n    expect: {fault: NotFound}\n",
     "expected fault NotFound, got MigrationFault: Unable to decrypt"),
    ("  - expect: {vm: db-shared-key, host: esx-a2}\n", "expected db-shared-key on esx-a2, it is on esx-a1 (in vc-a)"),
    ("  - expect: {vm: nobody}\n", "nobody is in no inventory of vc-a, vc-b, vc-legacy"),
    ("  - events: {vcenter: vc-b, seen: [VmMigratedEvent]}\n", "expected VmMigratedEvent on vc-b, it posted none"),
    ("  - migrate: {vm: db-shared-key, to_host: esx-a2}\n    expect: {figures: {downtime_ms: {below: 0}}}\n",
     "expected downtime_ms below 0, it was"),
    ("  - check_relocate: {vm: db-shared-key, to_vcenter: vc-b, to_host: esx-b3}\n    expect: {errors: []}\n",
     "expected no errors, CheckRelocate gave MigrationFeatureNotSupported"),
    ("  - wait: {until: {vm: db-shared-key, power: off}, seconds: 0.3}\n", "still not so after 0.3 s: expected db-shared-key powered off"),
    ("  - expect_host: {host: esx-b3, encrypted_vmotion: true}\n", "expected esx-b3 with encrypted vMotion support, it is without"),
    ("  - expect_host: {host: esx-b3, connected: false}\n", "expected esx-b3 not connected, it is connected"),
    ("  - expect: {vm: fixed-mac, mac_addresses: ['00:50:56:3a:00:02']}\n",
     "expected fixed-mac's MACs 00:50:56:3a:00:02, they are 00:50:56:3a:00:01"),
    ("  - expect: {vm: fixed-mac, macs_blocked_on: vc-a}\n", "expected fixed-mac's MACs on vc-a's block list; 00:50:56:3a:00:01 not there"),
    ("  - announcements: {host: esx-a2, vm: fixed-mac}\n", "expected esx-a2 to announce 00:50:56:3a:00:01 once each, it sent nothing"),
    ("  - migrate: {vm: fixed-mac, to_host: esx-a1}\n  - announcements: {host: esx-a1, vm: fixed-mac, announced: false}\n",
     "expected esx-a1 to announce nothing for fixed-mac, it sent 00:50:56:3a:00:01"),
    ("  - perf: {vcenter: vc-a, vm: fixed-mac, left_behind: true}\n",
     "fixed-mac has not moved in this scenario: there is no last move to compare with"),
    ("  - perf: {vcenter: vc-b, vm: fixed-mac}\n", "vc-b holds no performance history of fixed-mac: vc-b has no vm named 'fixed-mac'"),
    ("  - perf: {vcenter: vc-a, vm: fixed-mac, samples: 2}\n  - migrate: {vm: fixed-mac, to_host: esx-a1}\n"
     "  - perf: {vcenter: vc-a, vm: fixed-mac, before_last_move: false}\n",
     "expected no sample of fixed-mac from before its last move on vc-a, it holds"),
    ("  - migrate: {vm: fixed-mac, to_host: esx-a1}\n  - perf: {vcenter: vc-a, vm: fixed-mac, left_behind: true}\n",
     "expected fixed-mac to have left vc-a, it is still there as"),
])
def test_each_kind_of_expectation_says_why_it_failed(tmp_path, capsys, steps, reason):
    assert main(["run", str(scenario(tmp_path, steps))]) == 1
    out = capsys.readouterr().out
    assert "  FAIL " in out and reason in out, out


def test_connect_runs_against_a_running_estate_and_kill_needs_the_runner_s_own(tmp_path, capsys):
    steps = """\
  - create: {vm: c1, host: esx-a1, datastore: ds-a-shared, memory_mb: 32, power_on: true}
  - migrate: {vm: c1, to_vcenter: vc-b, to_host: esx-b1}
    expect: {mode: encrypted}
  - expect: {vm: c1, vcenter: vc-b, exactly_once: true}
  - kill: esx-b1
"""
    with start_estate(load_topology(TOPOLOGY), tmp_path / "state"):
        status = main(["run", str(scenario(tmp_path, steps)), "--connect", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert status == 1
    assert "  PASS 3 expect c1" in out
    assert "  FAIL 4 kill esx-b1" in out and "kill needs the estate that `linkedmode run` starts itself" in out


def test_connect_to_a_state_directory_where_nothing_runs(tmp_path, capsys):
    assert main(["run", str(scenario(tmp_path, "  - expect: {vm: x}\n")), "--connect", str(tmp_path / "none")]) == 1
    assert "FAIL probe: cannot connect: no running estate in" in capsys.readouterr().out


def test_scenarios_of_one_topology_share_an_estate_reset_between_them(tmp_path, capsys):
    first = scenario(tmp_path, "  - create: {vm: again, host: esx-a1, datastore: ds-a-shared, memory_mb: 32}\n", "first")
    second = scenario(tmp_path, "  - create: {vm: again, host: esx-a1, datastore: ds-a-shared, memory_mb: 32}\n"
                                "  - kill: vc-b\n", "second")
    third = scenario(tmp_path, "  - migrate: {vm: db-shared-key, to_vcenter: vc-b, to_host: esx-b1}\n", "third")
    assert main(["run", str(first), str(second), str(third)]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 scenarios passed" in out    # the VM of the first is gone for the second; vc-b is back for the third


def test_a_vcenter_killed_and_restarted_is_reached_again_and_expectations_say_who_is_silent(tmp_path, capsys):
    steps = """\
  - create: {vm: k1, host: esx-a1, datastore: ds-a-shared, memory_mb: 32, power_on: true}
  - kill: vc-b
  - migrate: {vm: k1, to_vcenter: vc-b, to_host: esx-b1}
    expect: {fault: PeerUnreachable}
  - expect: {vm: k1, vcenter: vc-a, host: esx-a1, power: on}
  - restart: vc-b
  - migrate: {vm: k1, to_vcenter: vc-b, to_host: esx-b1}
  - expect: {vm: k1, vcenter: vc-b, exactly_once: true}
  - kill: vc-a
  - expect: {vm: k1, exactly_once: true}
"""
    assert main(["run", str(scenario(tmp_path, steps))]) == 1
    out = capsys.readouterr().out
    assert "  PASS 7 expect k1" in out
    assert "  FAIL 9 expect k1" in out and "cannot tell whether k1 is anywhere else: vc-a does not answer" in out


def test_an_estate_that_cannot_start_fails_its_scenarios_with_the_reason(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "busy.yaml"
        path.write_text(f"""topology:
  sso_domains:
    - name: vsphere.local
      vcenters:
        - name: vc-a
          version: 7.0.3
          address: 127.0.0.1:{port}
          datacenters:
            - {{name: dc, clusters: [{{name: c, hosts: [{{name: h1, version: 7.0.3}}]}}], datastores: [{{name: ds}}]}}
steps:
  - expect: {{vm: x, absent: true}}
""")
        junit = tmp_path / "out.xml"
        assert main(["run", str(path), "--junit", str(junit)]) == 1
    assert f"FAIL busy: the estate did not start: Failed to bind to address 127.0.0.1:{port}" in capsys.readouterr().out
    assert ET.parse(junit).getroot().find("testsuite").get("errors") == "1"


def test_a_domain_the_topology_does_not_have(tmp_path, capsys):
    path = tmp_path / "dom.yaml"
    path.write_text("domain: other.local\nsteps:\n  - expect: {vm: x, absent: true}\n")
    assert main(["run", str(path)]) == 1
    assert "FAIL dom: NotFound: the topology has no SSO domain 'other.local'" in capsys.readouterr().out


def test_linkedmode_run_as_a_process(tmp_path):
    """The command as CI runs it: exit status 0 on success, 2 and one line on a malformed file."""
    good = scenario(tmp_path, "  - expect_host: {host: esx-b3, encrypted_vmotion: false}\n", "good")
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - migrate: {vm: a}\n")
    env = {**os.environ, "GRPC_VERBOSITY": "NONE"}
    ran = subprocess.run([sys.executable, "-m", "linkedmode", "run", str(good)], capture_output=True, text=True, env=env,
                         timeout=120)
    assert ran.returncode == 0 and "PASS good: 1 passed" in ran.stdout, ran.stderr
    refused = subprocess.run([sys.executable, "-m", "linkedmode", "run", str(bad)], capture_output=True, text=True, env=env,
                             timeout=120)
    assert refused.returncode == 2
    assert refused.stderr == f"linkedmode: bad scenario: {bad}: step 1: field migrate.to_host: required but missing\n"

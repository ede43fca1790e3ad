"""The command line as a user meets it: `up` in its own process, client commands against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENV = {**os.environ, "GRPC_VERBOSITY": "NONE", "PYTHONUNBUFFERED": "1"}


def linkedmode(*args: str, state_dir: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
    extra = ["--state-dir", str(state_dir)] if state_dir else []
    done = subprocess.run([sys.executable, "-m", "linkedmode", *args, *extra], capture_output=True, text=True, env=ENV, timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def running_up(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("state")
    up = subprocess.Popen([sys.executable, "-m", "linkedmode", "up", "--state-dir", str(state_dir)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 30
    while not (state_dir / "endpoints.json").exists():
        assert up.poll() is None, up.stderr.read()
        assert time.monotonic() < deadline, "linkedmode up did not start"
        time.sleep(0.05)
    yield state_dir, up
    if up.poll() is None:
        up.kill()


def test_up_prints_where_each_part_listens(running_up):
    state_dir, _ = running_up
    endpoints = json.loads((state_dir / "endpoints.json").read_text())
    assert [vc["name"] for d in endpoints["sso_domains"] for vc in d["vcenters"]] == ["vc-a", "vc-b", "vc-legacy", "vc-corp"]
    assert "PRIVATE KEY" not in (state_dir / "endpoints.json").read_text()


def test_vm_list_as_table_and_json(running_up):
    state_dir, _ = running_up
    table = linkedmode("vm", "list", state_dir=state_dir, check=True).stdout.splitlines()
    assert table[0].split() == ["VCENTER", "VM", "MOID", "POWER", "MIGRATE_ENCRYPTION", "ENCRYPTED", "HOST", "MEMORY_MB"]
    rows = {line.split()[1]: line.split() for line in table[1:]}
    assert rows["db-encrypted"][4:6] == ["required", "yes"] and rows["batch-off"][3] == "poweredOff"
    listed = json.loads(linkedmode("vm", "list", "--json", state_dir=state_dir, check=True).stdout)
    assert {vm["vcenter"] for vm in listed} == {"vc-a", "vc-b", "vc-legacy"}
    assert next(vm for vm in listed if vm["name"] == "app-disabled")["migrate_encryption"] == "MIGRATE_ENCRYPTION_DISABLED"


def test_vm_show_finds_the_vm_on_its_vcenter(running_up):
    state_dir, _ = running_up
    shown = linkedmode("vm", "show", "web-b1", state_dir=state_dir, check=True).stdout
    fields = dict(line.split(None, 1) for line in shown.splitlines())
    assert fields["vcenter"] == "vc-b" and fields["name"] == "web-b1" and fields["power_state"] == "poweredOn"


def test_power_and_settings_through_the_cli(running_up):
    state_dir, _ = running_up
    off = linkedmode("vm", "power-off", "app-required", state_dir=state_dir, check=True)
    assert "VirtualMachine.powerOff app-required: success" in off.stdout
    changed = linkedmode("vm", "set-encryption", "app-required", "opportunistic", "--json", state_dir=state_dir, check=True)
    assert json.loads(changed.stdout)["state"] == "TASK_STATE_SUCCESS"
    on = linkedmode("vm", "power-on", "app-required", state_dir=state_dir, check=True)
    key = on.stdout.split()[0]
    assert linkedmode("task", "watch", key, state_dir=state_dir, check=True).stdout.startswith(key)
    refused = linkedmode("vm", "set-encryption", "app-required", "required", state_dir=state_dir)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(
        "failed: InvalidPowerState: migrate_encryption of app-required changes only while it is powered off; it is poweredOn")
    events = linkedmode("events", "--vm", "app-required", "--json", state_dir=state_dir, check=True)
    assert [e["type"] for e in json.loads(events.stdout)][-5:] == [
        "VmStoppingEvent", "VmPoweredOffEvent", "VmReconfiguredEvent", "VmStartingEvent", "VmPoweredOnEvent"]


@pytest.mark.parametrize("args,message", [
    (["vm", "set-encryption", "batch-off", "sometimes"],
     "linkedmode: InvalidArgument: migrate_encryption 'sometimes' is not one of disabled, opportunistic, required"),
    (["vm", "show", "nope"], "linkedmode: no VM named 'nope' in vc-a, vc-b, vc-legacy"),
    (["vm", "power-on", "batch-off", "--user", "auditor"],
     "linkedmode: NoPermission: user auditor (read-only) may not call PowerOnVm: it needs the admin role"),
    (["vm", "list", "--user", "mallory"], "linkedmode: NotFound: no user 'mallory' in vsphere.local (it has administrator, auditor)"),
    (["vm", "list", "--vcenter", "vc-z"], "linkedmode: no vCenter 'vc-z' in vsphere.local (it has vc-a, vc-b, vc-legacy)"),
    (["task", "watch", "banana"], "linkedmode: InvalidArgument: 'banana' is not a task key like task-vc-a-12"),
    (["events", "--follow"], "linkedmode: --follow watches one vCenter: name it with --vcenter"),
])
def test_user_errors_are_one_clear_line(running_up, args, message):
    state_dir, _ = running_up
    done = linkedmode(*args, state_dir=state_dir)
    assert done.returncode == 1
    assert done.stderr.strip() == message


def test_migrate_moves_a_vm_across_vcenters_and_says_how(running_up):
    state_dir, _ = running_up
    moved = linkedmode("migrate", "app-disabled", "--to-vcenter", "vc-b", "--to-host", "esx-b1", state_dir=state_dir, check=True)
    line = moved.stdout.strip()
    assert line.startswith("app-disabled: vc-a -> vc-b/esx-b1, plaintext: ") and "downtime" in line
    listed = json.loads(linkedmode("vm", "list", "--json", state_dir=state_dir, check=True).stdout)
    assert next(vm for vm in listed if vm["name"] == "app-disabled")["vcenter"] == "vc-b"
    back = json.loads(linkedmode("migrate", "app-disabled", "--to-vcenter", "vc-a", "--to-host", "esx-a2", "--json",
                                 state_dir=state_dir, check=True).stdout)
    assert back["state"] == "TASK_STATE_SUCCESS" and back["result"]["host"] == "esx-a2" and back["result"]["vcenter"] == "vc-a"


def test_a_refused_migration_says_where_the_vm_stays(running_up):
    state_dir, _ = running_up
    done = linkedmode("migrate", "db-encrypted", "--to-vcenter", "vc-b", "--to-host", "esx-b3", state_dir=state_dir)
    assert done.returncode == 1
    assert done.stderr.strip() == ("linkedmode: db-encrypted stays on vc-a: MigrationFeatureNotSupported: the VM is "
                                   "encrypted but host esx-b3 has no AES-NI: encrypted vMotion is not supported")
    unknown = linkedmode("migrate", "db-encrypted", "--to-vcenter", "vc-b", "--to-host", "esx-zz", state_dir=state_dir)
    assert unknown.stderr.strip() == "linkedmode: NotFound: vc-b has no host 'esx-zz' (it has esx-b1, esx-b2, esx-b3)"


def test_client_commands_without_a_running_estate_say_so(tmp_path):
    done = linkedmode("vm", "list", state_dir=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == f"linkedmode: no running estate in {tmp_path} (start one with: linkedmode up --state-dir {tmp_path})"


def test_a_second_up_on_the_same_state_dir_is_refused(running_up):
    state_dir, _ = running_up
    done = linkedmode("up", state_dir=state_dir)
    assert done.returncode == 1
    assert done.stderr.strip() == f"linkedmode: another `linkedmode up` is running with state directory {state_dir}"


def test_a_bad_topology_gives_one_line_naming_the_field(tmp_path):
    bad = tmp_path / "estate.yaml"
    bad.write_text("sso_domains:\n  - name: vsphere.local\n    vcenters:\n      - name: vc-a\n        version: seven\n")
    done = linkedmode("up", str(bad), state_dir=tmp_path / "state")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"linkedmode: bad topology: {bad}: sso_domains[0].vcenters[0].version:")
    missing = linkedmode("up", str(tmp_path / "nope.yaml"), state_dir=tmp_path / "state")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_certs_init_writes_a_pki(tmp_path):
    done = linkedmode("certs", "init", str(tmp_path / "certs"), check=True)
    assert "certificates made" in done.stdout
    assert (tmp_path / "certs" / "pki" / "vsphere.local" / "ca.pem").exists()
    assert (tmp_path / "certs" / "pki" / "corp.local" / "user" / "administrator.key").exists()
    assert (tmp_path / "certs" / "ca" / "vsphere.local" / "ca.key").exists()
    assert not list((tmp_path / "certs" / "pki").rglob("ca.key"))


def test_up_stops_cleanly_on_ctrl_c(running_up):
    state_dir, up = running_up
    up.send_signal(signal.SIGINT)
    out, err = up.communicate(timeout=20)
    assert up.returncode == 0, err
    assert "SSO DOMAIN" in out and out.rstrip().endswith("linkedmode: stopped")
    assert not (state_dir / "endpoints.json").exists()


def test_the_demo_shows_every_rule_of_the_encryption_decision():
    done = subprocess.run([sys.executable, "-m", "linkedmode", "demo", "--json"], capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    trips = [r for r in rows if r["source"].startswith(("vc-a/", "vc-legacy/esx-l1"))]
    outcome = {(r["vm"], r["destination"]): r["result"] for r in trips}
    for host in ("esx-b1", "esx-b2", "esx-b3"):
        assert outcome[("app-disabled", f"vc-b/{host}")] == "plaintext"
    assert outcome[("app-opportunistic", "vc-b/esx-b1")] == outcome[("app-opportunistic", "vc-b/esx-b2")] == "encrypted"
    assert outcome[("app-opportunistic", "vc-b/esx-b3")] == "plaintext fallback"
    assert outcome[("app-required", "vc-b/esx-b2")] == "encrypted"
    assert outcome[("app-required", "vc-b/esx-b3")].startswith("refused: MigrationFeatureNotSupported")
    assert outcome[("db-encrypted", "vc-b/esx-b1")] == "encrypted"
    assert outcome[("db-nkp", "vc-b/esx-b1")].startswith("refused: MigrationFault: Unable to decrypt the ciphertext")
    assert outcome[("db-nkp (after restore)", "vc-b/esx-b1")] == "encrypted"     # vc-a's Native Key Provider restored into vc-b
    assert outcome[("app-opportunistic", "vc-legacy/esx-l1")] == "plaintext fallback"     # row X2: the 7.0 floor is for encryption
    assert outcome[("app-required", "vc-legacy/esx-l1")].startswith("refused: MigrationFeatureNotSupported")
    # row E4 on both kinds of host that cannot encrypt: no AES-NI (esx-b3) and ESXi 6.0, which only vc-legacy manages (row X8)
    assert outcome[("app-required", "vc-b/esx-b3")].endswith("host esx-b3 has no AES-NI: encrypted vMotion is not supported")
    assert outcome[("app-legacy", "vc-legacy/esx-l2")] == "plaintext fallback"
    assert outcome[("app-legacy-required", "vc-legacy/esx-l2")] == ("refused: MigrationFeatureNotSupported: migrate_encryption is "
                                                                    "required but host esx-l2 runs ESXi 6.0.0, before 6.5: "
                                                                    "encrypted vMotion is not supported")
    assert "belongs to SSO domain corp.local" in outcome[("app-opportunistic", "vc-corp/esx-c1")]
    moved = [r for r in rows if not r["result"].startswith("refused")]
    assert all(float(r["MBps"]) > 0 and int(r["rounds"]) >= 1 and float(r["downtime_ms"]) > 0 for r in moved)

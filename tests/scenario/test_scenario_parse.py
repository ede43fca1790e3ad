"""A malformed scenario stops `linkedmode run` before anything starts, with one line naming the step
and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkedmode.cli.main import main
from linkedmode.scenario import ScenarioError, load_scenario
from linkedmode.scenario.model import Decrypt, Encrypt, ExpectVm, KeyProviderBackup, Migrate, Parallel

TOPOLOGY = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "two-linked-vcenters.yaml"
MOVE = "{vm: a, to_vcenter: vc-b, to_host: esx-b1}"


@pytest.mark.parametrize("body, message", [
    ("steps:\n  - migrate: {vm: a}\n",
     "step 1: field migrate.to_host: required but missing"),
    ("steps:\n  - create: {vm: a, host: esx-a1, datastore: ds}\n  - name: go\n    migrate: {vm: a, to_hots: esx-b1}\n",
     "step 2 (go): field migrate.to_hots: unknown key; allowed: vm, to_host, to_vcenter, datastore, pool, networks"),
    (f"steps:\n  - migrate: {MOVE}\n    expect: {{fault: NoSuchFault}}\n",
     "step 1: field expect.fault: 'NoSuchFault' is not a fault this emulator knows"),
    (f"steps:\n  - migrate: {MOVE}\n    expect: {{mode: sealed}}\n",
     "step 1: field expect.mode: 'sealed' is not one of encrypted, plaintext, fallback"),
    (f"steps:\n  - migrate: {MOVE}\n    expect: {{figures: {{downtime_ms: {{below: fast}}}}}}\n",
     "step 1: field expect.figures.downtime_ms.below: expected a number"),
    (f"steps:\n  - migrate: {MOVE}\n    power: {{vm: a, state: on}}\n",
     "step 1: expected exactly one action of"),
    ("steps:\n  - fault_rule: {step: stun, probability: 2}\n",
     "step 1: field fault_rule.probability: probability 2.0 is not between 0 and 1"),
    ("steps:\n  - fault_rule: {step: teleport}\n",
     "step 1: field fault_rule.step: 'teleport' is not one of spec_exchange"),
    ("steps:\n  - wait: {}\n", "step 1: field wait.seconds: required but missing"),
    ("steps:\n  - parallel:\n      - kill: esx-a1\n      - restart: esx-a1\n",
     "step 1: field parallel: kill, restart and parallel steps run on their own"),
    ("steps:\n  - parallel:\n      - migrate: {vm: a}\n      - migrate: {vm: b, to_host: h}\n",
     "step 1.1: field migrate.to_host: required but missing"),
    ("steps:\n  - power: {vm: a, state: sideways}\n", "step 1: field power.state: 'sideways' is not one of on, off"),
    ("steps:\n  - 42\n", "step 1: expected a mapping with one of create"),
    ("steps:\n  - migrate: {vm: a, to_host: h, locator: {uuid: x}}\n",
     "step 1: field migrate.locator.uuid: unknown key; allowed: instance_uuid, url, ssl_thumbprint"),
    ("steps:\n  - power: {vm: a, state: off}\n    after: soon\n", "step 1: field after: expected a number >= 0, got 'soon'"),
    ("steps:\n  - expect_host: {host: h, encrypted_vmotion: maybe}\n", "step 1: field expect_host.encrypted_vmotion: expected a boolean"),
    ("steps:\n  - expect: {vm: a, mac_addresses: [1]}\n", "step 1: field expect.mac_addresses[0]: expected a non-empty string"),
    ("steps:\n  - teleport: {vm: a}\n", "step 1: field teleport: not an action; the actions are create, power"),
    ("steps:\n  - encrypt: {key_provider: kms-shared}\n", "step 1: field encrypt.vm: required but missing"),
    ("steps:\n  - name: seal\n    encrypt: {vm: a, key_provder: kms-shared}\n",
     "step 1 (seal): field encrypt.key_provder: unknown key; allowed: vm, key_provider"),
    ("steps:\n  - encrypt: {vm: a, key_provider: ''}\n", "step 1: field encrypt.key_provider: expected a non-empty string"),
    ("steps:\n  - encrypt: {vm: a}\n    expect: {fault: Nope}\n", "step 1: field expect.fault: 'Nope' is not a fault this emulator knows"),
    ("steps:\n  - decrypt: {vm: a, key_provider: kms-shared}\n", "step 1: field decrypt.key_provider: unknown key; allowed: vm"),
    ("steps:\n  - decrypt: a\n", "step 1: field decrypt: expected a mapping"),
    ("steps:\n  - key_provider_backup: {from: vc-a, provider: nkp-vc-a}\n", "step 1: field key_provider_backup.to: required but missing"),
    ("steps:\n  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-a}\n",
     "step 1: field key_provider_backup.to: the backup is restored into another vCenter than the one it comes from (vc-a)"),
    ("steps:\n  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-b, password: hunter22}\n",
     "step 1: field key_provider_backup.password: unknown key; allowed: from, provider, to"),
    ("steps:\n  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-b}\n    expect: {state: error}\n",
     "step 1: field expect: unknown key; allowed: name, after, key_provider_backup"),
    ("steps:\n  - expect: {vm: a, encrypted: maybe}\n", "step 1: field expect.encrypted: expected a boolean"),
    ("steps:\n  - expect: {vm: a, encrypted: false, key_provider: kms-shared}\n",
     "step 1: field expect.key_provider: a VM that is not encrypted has no key provider"),
    ("steps:\n  - wait: {until: {vm: a, key_provider: [kms-shared]}}\n",
     "step 1: field wait.until.key_provider: expected a non-empty string"),
    ("steps:\n  - announcements: {host: esx-b1}\n", "step 1: field announcements.vm: required but missing"),
    ("steps:\n  - announcements: {host: esx-b1, vm: a, announced: twice}\n", "step 1: field announcements.announced: expected a boolean"),
    ("steps:\n  - perf: {vcenter: vc-a, vm: a, samples: -1}\n", "step 1: field perf.samples: expected an integer >= 0"),
    ("steps:\n  - perf: {vcenter: vc-a, vm: a, left_behind: true, before_last_move: true}\n",
     "step 1: field perf.left_behind: what stayed behind is all from before the move: leave out before_last_move"),
    ("steps:\n  - perf: {vm: a}\n", "step 1: field perf.vcenter: required but missing"),
    ("steps: []\n", "field steps: expected a list of at least one step"),
    ("stepz: []\n", "field stepz: unknown key; allowed: name, description, topology, domain, user, steps"),
    ("steps:\n  - migrate: {vm: [a, b\n", "invalid YAML: expected ',' or ']'"),
])
def test_a_malformed_scenario_is_one_line_naming_step_and_field(tmp_path, capsys, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"topology: {TOPOLOGY}\n{body}")
    assert main(["run", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith(f"linkedmode: bad scenario: {path}: ") and message in err, err
    assert "\n" not in err and "Traceback" not in err


def test_a_topology_error_names_the_topology_field(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("topology: {sso_domains: [{name: x.local, vcenters: [{name: vc, version: banana}]}]}\n"
                    "steps:\n  - expect: {vm: a}\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"linkedmode: bad scenario: {path}: field topology.sso_domains[0].vcenters[0].version: ") and "\n" not in err


def test_a_missing_topology_file_is_named(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("topology: nowhere.yaml\nsteps:\n  - expect: {vm: a}\n")
    assert main(["run", str(path)]) == 2
    assert "field topology: no such file" in capsys.readouterr().err


def test_a_well_formed_scenario_reads_as_typed_steps(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(f"topology: {TOPOLOGY}\nsteps:\n  - parallel:\n      - migrate: {MOVE}\n"
                    "        expect: {mode: encrypted, figures: {downtime_ms: {below: 500}}}\n      - migrate: {vm: b, to_host: esx-a2}\n")
    scenario = load_scenario(path)
    assert scenario.name == "good" and scenario.topology_key == str(TOPOLOGY)
    block = scenario.steps[0]
    assert isinstance(block, Parallel) and [s.number for s in block.steps] == ["1.1", "1.2"]
    move = block.steps[0]
    assert isinstance(move, Migrate) and move.to.to_vcenter == "vc-b" and move.expect.figures[0].value == 500


def test_a_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_the_encryption_steps_read_as_typed_steps(tmp_path):
    path = tmp_path / "crypto.yaml"
    path.write_text(f"topology: {TOPOLOGY}\nsteps:\n  - encrypt: {{vm: a, key_provider: nkp-vc-a}}\n"
                    "    expect: {fault: InvalidPowerState}\n  - decrypt: {vm: a}\n"
                    "  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-b}\n"
                    "  - expect: {vm: a, key_provider: nkp-vc-a}\n  - encrypt: {vm: b}\n")
    encrypt, decrypt, backup, expect, default = load_scenario(path).steps
    assert isinstance(encrypt, Encrypt) and encrypt.key_provider == "nkp-vc-a" and encrypt.expect.fault == "InvalidPowerState"
    assert encrypt.label == "encrypt a with nkp-vc-a"
    assert isinstance(decrypt, Decrypt) and decrypt.vm == "a" and decrypt.expect.fault is None
    assert isinstance(backup, KeyProviderBackup)
    assert (backup.from_vcenter, backup.provider, backup.to_vcenter) == ("vc-a", "nkp-vc-a", "vc-b")
    assert isinstance(expect, ExpectVm) and expect.expect.key_provider == "nkp-vc-a" and expect.expect.encrypted is None
    assert isinstance(default, Encrypt) and default.key_provider == "" and default.label == "encrypt b with the default key provider"

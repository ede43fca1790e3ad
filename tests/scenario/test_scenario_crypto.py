"""The encryption steps against a real estate: a wrong expectation on a VM's encryption says why, a
key provider backup that fails says why, the backup password shows nowhere, and a provider restored
by one scenario is gone for the next (the estate is reset between them)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import linkedmode.scenario.steps as steps_module
from linkedmode.cli.main import main

TOPOLOGY = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "two-linked-vcenters.yaml"
PASSWORD = "not-so-secret-test-password"

FAILING = {
    "not-clear": ("  - expect: {vm: db-shared-key, encrypted: false}\n",
                  "expected db-shared-key not encrypted, it is encrypted with key provider kms-shared"),
    "other-provider": ("  - expect: {vm: db-local-key, key_provider: kms-shared}\n",
                       "expected db-local-key encrypted with key provider kms-shared, it is encrypted with key provider nkp-vc-a"),
    "not-encrypted": ("  - expect: {vm: fixed-mac, encrypted: true}\n", "expected fixed-mac encrypted, it is not encrypted"),
    "running": ("  - encrypt: {vm: db-shared-key}\n",
                "expected success, but failed: InvalidPowerState: db-shared-key is poweredOn: a VM is encrypted or decrypted only"),
    "decrypt-fault": ("  - power: {vm: fixed-mac, state: off}\n  - decrypt: {vm: fixed-mac}\n    expect: {fault: InvalidPowerState}\n",
                      "expected fault InvalidPowerState, got InvalidState: fixed-mac is not encrypted"),
    "standard": ("  - key_provider_backup: {from: vc-a, provider: kms-shared, to: vc-b}\n",
                 "InvalidArgument: kms-shared is a Standard Key Provider: its keys are on its KMS"),
    "unknown": ("  - key_provider_backup: {from: vc-a, provider: nkp-nope, to: vc-b}\n",
                "NotFound: vc-a has no key provider 'nkp-nope'"),
    "twice": ("  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-b}\n"
              "  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-b}\n",
              "AlreadyExists: vc-b already has a key provider nkp-vc-a"),
}
# After "twice" restored nkp-vc-a into vc-b, the reset between scenarios takes it away again.
AFTER_RESET = """\
  - migrate: {vm: db-local-key, to_vcenter: vc-b, to_host: esx-b1}
    expect: {fault: MigrationFault, message_contains: "vc-b has no key provider 'nkp-vc-a'"}
  - key_provider_backup: {from: vc-a, provider: nkp-vc-a, to: vc-b}
  - migrate: {vm: db-local-key, to_vcenter: vc-b, to_host: esx-b1}
    expect: {mode: encrypted, vcenter: vc-b}
  - expect: {vm: db-local-key, vcenter: vc-b, key_provider: nkp-vc-a, exactly_once: true}
"""


def test_encryption_steps_and_expectations_say_why_they_failed_and_the_password_shows_nowhere(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(steps_module.secrets, "token_urlsafe", lambda n=None: PASSWORD)
    paths = []
    for name, (steps, _) in [*FAILING.items(), ("after-reset", (AFTER_RESET, ""))]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\ntopology: {TOPOLOGY}\nsteps:\n{steps}")
        paths.append(str(path))
    junit = tmp_path / "out.xml"
    assert main(["run", *paths, "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    for name, (_, reason) in FAILING.items():
        assert f"FAIL {name}: " in out and reason in out, (name, out)
    assert "PASS after-reset: 4 passed, 0 failed" in out, out
    assert "PASS 2 back up nkp-vc-a from vc-a, restore into vc-b" in out
    assert f"1 of {len(FAILING) + 1} scenarios passed; failed: {', '.join(FAILING)}" in out
    suites = {s.get("name"): s for s in ET.parse(junit).getroot().iter("testsuite")}
    failed = [c for c in suites["other-provider"].iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["step 1 expect db-local-key"]
    assert "with key provider nkp-vc-a" in failed[0].find("failure").get("message")
    assert PASSWORD not in out and PASSWORD not in junit.read_text()

"""`linkedmode kms ...` and `linkedmode vm encrypt/decrypt` against a running estate (the default
topology, its KMS a process of its own), as a user meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linkedmode.estate import start_estate
from linkedmode.topology import default_topology

ENV = {**os.environ, "GRPC_VERBOSITY": "NONE", "PYTHONUNBUFFERED": "1"}
PASSWORD = "backup password of vc-a"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("state")
    with start_estate(default_topology(), folder):
        yield folder


def linkedmode(state_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linkedmode", *args, "--state-dir", str(state_dir)],
                          capture_output=True, text=True, env=ENV, timeout=90, input=stdin)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_kms_list_shows_standard_and_native_providers(state_dir):
    rows = json.loads(ok(linkedmode(state_dir, "kms", "list", "--vcenter", "vc-a", "--json")))
    by_name = {r["name"]: r for r in rows}
    assert by_name["kms-shared"]["type"] == "standard (KMIP)" and by_name["kms-shared"]["kms"].startswith("127.0.0.1:")
    assert by_name["nkp-vc-a"]["type"] == "native" and by_name["kms-shared"]["default"]
    table = ok(linkedmode(state_dir, "kms", "list"))
    assert "KEY PROVIDER" in table and "vc-b" in table


def test_backup_then_restore_lets_the_native_encrypted_vm_cross(state_dir, tmp_path):
    refused = linkedmode(state_dir, "migrate", "db-nkp", "--to-vcenter", "vc-b", "--to-host", "esx-b1")
    assert refused.returncode == 1 and "Unable to decrypt the ciphertext. Failed to decrypt the key" in refused.stderr

    password_file, backup = tmp_path / "password", tmp_path / "nkp-vc-a.backup"
    password_file.write_text(PASSWORD + "\n")
    ok(linkedmode(state_dir, "kms", "backup", "nkp-vc-a", "--vcenter", "vc-a", "-o", str(backup), "--password-file", str(password_file)))
    assert backup.stat().st_mode & 0o777 == 0o600 and PASSWORD.encode() not in backup.read_bytes()

    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")
    done = linkedmode(state_dir, "kms", "restore", str(backup), "--vcenter", "vc-b", "--password-file", str(wrong))
    assert done.returncode == 1
    assert done.stderr.strip() == ("linkedmode: InvalidArgument: the backup of key provider nkp-vc-a does not open with this "
                                   "password (or the file was altered)")

    restored = linkedmode(state_dir, "kms", "restore", str(backup), "--vcenter", "vc-b", "--json",
                          "--password-file", str(password_file))
    assert json.loads(ok(restored))["name"] == "nkp-vc-a"
    ok(linkedmode(state_dir, "migrate", "db-nkp", "--to-vcenter", "vc-b", "--to-host", "esx-b1"))


def test_backup_needs_a_vcenter_and_a_native_provider(state_dir, tmp_path):
    done = linkedmode(state_dir, "kms", "backup", "nkp-vc-a", "-o", str(tmp_path / "x"))
    assert done.returncode == 1 and "say which vCenter with --vcenter" in done.stderr
    env_done = subprocess.run([sys.executable, "-m", "linkedmode", "kms", "backup", "kms-shared", "--vcenter", "vc-a",
                               "-o", str(tmp_path / "x"), "--state-dir", str(state_dir)], capture_output=True, text=True,
                              env={**ENV, "LINKEDMODE_BACKUP_PASSWORD": PASSWORD}, timeout=90)
    assert env_done.returncode == 1
    assert "kms-shared is a Standard Key Provider: its keys are on its KMS" in env_done.stderr
    assert not (tmp_path / "x").exists()


def test_vm_encrypt_and_decrypt(state_dir):
    ok(linkedmode(state_dir, "vm", "encrypt", "batch-off", "--key-provider", "kms-shared"))
    assert "kms-shared" in ok(linkedmode(state_dir, "vm", "show", "batch-off"))
    again = linkedmode(state_dir, "vm", "encrypt", "batch-off")
    assert again.returncode == 1 and "batch-off is already encrypted (key provider kms-shared)" in again.stderr
    ok(linkedmode(state_dir, "vm", "decrypt", "batch-off"))
    on = linkedmode(state_dir, "vm", "encrypt", "app-required")
    assert on.returncode == 1 and "a VM is encrypted or decrypted only while it is powered off" in on.stderr

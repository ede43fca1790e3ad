"""No key material (data keys, provider keys, the Native Key Provider's primary key, backup passwords)
in logs, events, task results, the inventory databases or any file of the state directory but the sealed
provider store and the KMS's own database."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from estate_helpers import client_of, vm_ref, wait_task
from migration_estate import migration_estate, to_vc_b

from linkedmode.model.inventory import Vm
from linkedmode.v1 import common_pb2, vcenter_pb2

PASSWORD = "the-backup-password-42"
SEALED_STORE = (".nkp", ".seal")          # the Native Key Providers, sealed apart from their sealing keys


def forms(secret: bytes) -> list[bytes]:
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret), base64.b64encode(secret)[:40]]


def encrypt(client, vm: str, provider: str) -> None:
    spec = vcenter_pb2.VirtualMachineConfigSpec(crypto=vcenter_pb2.CryptoSpec(encrypt=vcenter_pb2.CryptoSpecEncrypt(key_provider=provider)))
    task = wait_task(client, client.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(vm=vm_ref(vm), spec=spec)))
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error


@pytest.fixture
def estate(tmp_path):
    with migration_estate(tmp_path / "state") as running:
        yield running


def test_keys_and_passwords_are_nowhere_but_the_sealed_store_and_the_kms(estate, caplog):
    caplog.set_level(logging.DEBUG)
    vc_a, vc_b = estate.vcenters["vc-a"].vcenter, estate.vcenters["vc-b"].vcenter
    client = client_of(estate, "vc-a")
    encrypt(client, "off-required", "kms-shared")
    backup = client.api.BackupKeyProvider(vcenter_pb2.BackupKeyProviderRequest(name="nkp-vc-a", password=PASSWORD)).backup
    client_of(estate, "vc-b").api.RestoreKeyProvider(vcenter_pb2.RestoreKeyProviderRequest(backup=backup, password=PASSWORD))
    for vm in ("off-required", "encrypted", "nkp"):
        assert to_vc_b(estate, client, vm).state == common_pb2.TASK_STATE_SUCCESS

    secrets: list[bytes] = [PASSWORD.encode(), bytes(vc_a.keys._natives["nkp-vc-a"]._primary)]
    for vm in vc_b.state.all(Vm):
        if vm.encrypted:
            secrets.append(bytes(vc_b.keys.key(vm.key_provider, vm.key_id)))
            if vm.key_safe:
                secrets.append(bytes(vc_b.keys.open_key_safe(vm.key_provider, vm.key_id, base64.b64decode(vm.key_safe))))
    assert len(secrets) >= 6 and all(len(s) >= 16 for s in secrets)

    said = [r.getMessage().encode() for r in caplog.records]
    for name in ("vc-a", "vc-b"):
        api = client_of(estate, name).api
        said += [e.SerializeToString() for e in api.QueryEvents(vcenter_pb2.EventFilter(limit=1000)).events]
        said += [t.SerializeToString() for t in api.ListTasks(vcenter_pb2.ListTasksRequest()).tasks]
        said += [v.SerializeToString() for v in api.ListVms(vcenter_pb2.ListVmsRequest()).vms]
    files = [p for p in Path(estate.state_dir).rglob("*") if p.is_file() and not p.name.endswith(SEALED_STORE)
             and not (p.parent.parent.name == "kms" and p.name == "kms.db")]
    assert any(p.suffix == ".db" for p in files) and any(p.name == "kms.log" for p in files)
    kms_db = (Path(estate.state_dir) / "kms" / "kms-shared" / "kms.db").read_bytes()
    assert any(secret in kms_db for secret in secrets)       # the search finds a key where one is: the KMS's own store
    for secret in secrets:
        for form in forms(secret):
            assert not [i for i, text in enumerate(said) if form in text]
            assert not [p for p in files if form in p.read_bytes()], f"a secret is in {[p for p in files if form in p.read_bytes()]}"

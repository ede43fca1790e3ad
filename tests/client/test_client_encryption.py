"""linkedmode.client's VM encryption and key providers against a real estate over mutual TLS: encrypt
and decrypt as tasks, their refusals as vSphere faults, the providers of each vCenter, and a Native Key
Provider backed up from one vCenter and restored into another, which then gets its keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkedmode.client import (
    AlreadyExists,
    InvalidArgument,
    InvalidPowerState,
    InvalidState,
    MigrationFault,
    NotFound,
    connect,
    task_fault,
)
from linkedmode.estate import start_estate
from linkedmode.topology import load_topology
from linkedmode.v1 import common_pb2, emulator_pb2, vcenter_pb2

TOPOLOGY = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "two-linked-vcenters.yaml"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def client(state_dir):
    with start_estate(load_topology(TOPOLOGY), state_dir), connect(state_dir) as opened:
        yield opened


def _create(client, name: str, host: str = "esx-a1", datastore: str = "ds-a-shared") -> None:
    client.create_vm(vcenter_pb2.CreateVmRequest(name=name, host=host, datastore=datastore, memory_mb=32,
                                                 disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=16)]))


def test_key_providers_of_each_vcenter(client):
    providers = {p.name: p for p in client.key_providers("vc-a")}
    assert list(providers) == ["kms-shared", "nkp-vc-a"]
    assert providers["kms-shared"].is_default and not providers["kms-shared"].native and providers["kms-shared"].kms_address
    assert providers["nkp-vc-a"].native and not providers["nkp-vc-a"].kms_address
    assert client.key_providers("vc-legacy") == []
    with pytest.raises(NotFound, match="no vCenter 'vc-z'"):
        client.key_providers("vc-z")


def test_encrypt_and_decrypt_are_tasks_followed_to_their_end(client):
    _create(client, "cl-enc")
    progress: list[int] = []
    task = client.encrypt("cl-enc", "nkp-vc-a", on_progress=lambda t: progress.append(t.state))
    assert task.state == common_pb2.TASK_STATE_SUCCESS and progress[-1] == common_pb2.TASK_STATE_SUCCESS
    _, vm = client.get_vm("cl-enc")
    assert vm.crypto.encrypted and vm.crypto.key_provider == "nkp-vc-a" and vm.migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_REQUIRED
    with pytest.raises(InvalidState, match="cl-enc is already encrypted"):
        client.encrypt("cl-enc")
    client.decrypt("cl-enc")
    _, vm = client.get_vm("cl-enc")
    assert not vm.crypto.encrypted and vm.crypto.key_provider == ""
    client.encrypt("cl-enc")                                    # the vCenter's default provider
    assert client.get_vm("cl-enc")[1].crypto.key_provider == "kms-shared"


def test_encryption_refusals_are_their_vsphere_faults(client):
    _create(client, "cl-refused")
    client.power_on("cl-refused")
    with pytest.raises(InvalidPowerState, match="only while it is powered off"):
        client.encrypt("cl-refused", "kms-shared")
    failed = client.decrypt("cl-refused", raise_fault=False)
    assert isinstance(task_fault(failed), InvalidPowerState)
    client.power_off("cl-refused")
    with pytest.raises(NotFound, match="vc-a has no key provider 'nkp-vc-b'"):
        client.encrypt("cl-refused", "nkp-vc-b")
    assert not client.get_vm("cl-refused")[1].crypto.encrypted


def test_a_native_key_provider_restored_into_another_vcenter_gives_it_the_keys(client):
    _create(client, "cl-native")
    client.encrypt("cl-native", "nkp-vc-a")
    client.power_on("cl-native")
    with pytest.raises(MigrationFault, match="Failed to decrypt the key"):
        client.relocate("cl-native", "esx-b1", to_vcenter="vc-b")
    with pytest.raises(InvalidArgument, match="Standard Key Provider"):
        client.backup_key_provider("vc-a", "kms-shared", "long enough password")
    backup = client.backup_key_provider("vc-a", "nkp-vc-a", "long enough password")
    assert b"long enough password" not in backup
    with pytest.raises(InvalidArgument, match="does not open with this password"):
        client.restore_key_provider("vc-b", backup, "another password")
    info = client.restore_key_provider("vc-b", backup, "long enough password")
    assert info.name == "nkp-vc-a" and info.native and not info.is_default
    assert "nkp-vc-a" in [p.name for p in client.key_providers("vc-b")]
    with pytest.raises(AlreadyExists, match="vc-b already has a key provider nkp-vc-a"):
        client.restore_key_provider("vc-b", backup, "long enough password")
    task = client.relocate("cl-native", "esx-b1", to_vcenter="vc-b")
    assert task.migration.encrypted and task.migration.vcenter == "vc-b"


def test_reset_gives_a_vcenter_back_only_the_topology_s_key_providers(client, state_dir):
    if "nkp-vc-a" not in [p.name for p in client.key_providers("vc-b")]:
        client.restore_key_provider("vc-b", client.backup_key_provider("vc-a", "nkp-vc-a", "long enough password"),
                                    "long enough password")
    client.vcenter("vc-b").api.SetDefaultKeyProvider(vcenter_pb2.KeyProviderRef(name="nkp-vc-a"))
    client.vcenter("vc-b").emulator.Reset(emulator_pb2.ResetRequest())
    providers = client.key_providers("vc-b")
    assert sorted(p.parent.name for p in state_dir.rglob("nkp-vc-a.*")) == ["vc-a", "vc-a"]   # vc-b's sealed copy is gone
    assert [(p.name, p.is_default) for p in providers] == [("kms-shared", True), ("nkp-vc-b", False)]
    with pytest.raises(MigrationFault, match="vc-b has no key provider 'nkp-vc-a'"):
        client.relocate("db-local-key", "esx-b1", to_vcenter="vc-b")
    info = client.restore_key_provider("vc-b", client.backup_key_provider("vc-a", "nkp-vc-a", "long enough password"),
                                       "long enough password")
    assert info.name == "nkp-vc-a"                            # restored again: nothing of the first was left

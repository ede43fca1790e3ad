"""Encrypting and decrypting VMs through ReconfigVm (rows K2, E6), their disks at rest (D1), and the
ciphertext that crosses on cold and hot moves to another vCenter sharing the KMS."""

from __future__ import annotations

import os
import uuid

import pytest
from estate_helpers import client_of, task_fault, vm_ref, wait_task
from migration_estate import locator_of, migration_estate, relocate, to_vc_b

from linkedmode.model.faults import InvalidPowerState, InvalidState, KmsUnreachable
from linkedmode.model.inventory import Datastore, Vm
from linkedmode.model.settings import MigrateEncryption
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture(scope="module")
def estate():
    with migration_estate() as running:
        yield running


def crypto(estate, vcenter: str, vm: str, *, encrypt: str | None = None, decrypt: bool = False, **other) -> common_pb2.Task:
    spec = vcenter_pb2.CryptoSpec(encrypt=vcenter_pb2.CryptoSpecEncrypt(key_provider=encrypt)) if encrypt is not None else \
        vcenter_pb2.CryptoSpec(decrypt=vcenter_pb2.CryptoSpecDecrypt()) if decrypt else vcenter_pb2.CryptoSpec()
    client = client_of(estate, vcenter)
    return wait_task(client, client.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(
        vm=vm_ref(vm), spec=vcenter_pb2.VirtualMachineConfigSpec(crypto=spec, **other))))


def vm_of(estate, vcenter: str, name: str) -> Vm:
    return estate.vcenters[vcenter].vcenter.state.find(Vm, name=name)


def disk_file(estate, vcenter: str, name: str) -> str:
    vc = estate.vcenters[vcenter].vcenter
    vm = vm_of(estate, vcenter, name)
    return vc.datastores.disk_path(vc.state.get(vm.disks[0].datastore, Datastore).name, vm.name, vm.disks[0])


def write_marker(path: str) -> bytes:
    marker = f"guest-marker-{uuid.uuid4()}".encode()
    with open(path, "r+b") as disk:
        disk.seek(4096)
        disk.write(marker)
    return marker


def on_disk(path: str) -> bytes:
    with open(path, "rb") as disk:
        return disk.read()


def power(estate, vcenter: str, vm: str, on: bool) -> None:
    client = client_of(estate, vcenter)
    call = client.api.PowerOnVm if on else client.api.PowerOffVm
    assert wait_task(client, call(vm_ref(vm))).state == common_pb2.TASK_STATE_SUCCESS


def test_encrypt_makes_the_disk_ciphertext_and_required_and_decrypt_brings_it_back(estate):
    path = disk_file(estate, "vc-a", "off-required")
    marker = write_marker(path)
    size = len(on_disk(path))
    task = crypto(estate, "vc-a", "off-required", encrypt="nkp-vc-a")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    vm = vm_of(estate, "vc-a", "off-required")
    assert (vm.encrypted, vm.key_provider, vm.migrate_encryption) == (True, "nkp-vc-a", MigrateEncryption.REQUIRED)
    assert vm.key_id and vm.key_safe and all(d.encrypted for d in vm.disks)
    at_rest = on_disk(path)
    assert marker not in at_rest and len(at_rest) == size
    shown = client_of(estate, "vc-a").api.GetVm(vm_ref("off-required"))
    assert shown.crypto.encrypted and shown.crypto.key_id == vm.key_id

    # row E6: an encrypted VM's migrate_encryption cannot leave required
    client = client_of(estate, "vc-a")
    task = wait_task(client, client.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(
        vm=vm_ref("off-required"), spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_DISABLED))))
    assert "cannot be changed while it is encrypted" in task_fault(task).message

    task = crypto(estate, "vc-a", "off-required", decrypt=True)
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    vm = vm_of(estate, "vc-a", "off-required")
    assert (vm.encrypted, vm.key_provider, vm.key_id, vm.key_safe) == (False, "", "", "")
    assert vm.migrate_encryption == MigrateEncryption.REQUIRED           # stays required until changed
    assert marker in on_disk(path)


def test_encrypt_and_decrypt_refusals(estate):
    fault = task_fault(crypto(estate, "vc-a", "required", encrypt="nkp-vc-a"))       # powered on
    assert isinstance(fault, InvalidPowerState)
    assert fault.message == "required is poweredOn: a VM is encrypted or decrypted only while it is powered off"
    fault = task_fault(crypto(estate, "vc-a", "off-required", decrypt=True))
    assert isinstance(fault, InvalidState) and fault.message == "off-required is not encrypted"
    fault = task_fault(crypto(estate, "vc-a", "off-required", encrypt="no-such-provider"))
    assert fault.message.startswith("vc-a has no key provider 'no-such-provider'")
    assert not vm_of(estate, "vc-a", "off-required").encrypted

    client = client_of(estate, "vc-a")
    snapshot = wait_task(client, client.api.CreateSnapshot(vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("off-required"), name="s1")))
    assert snapshot.state == common_pb2.TASK_STATE_SUCCESS, snapshot.error
    try:
        fault = task_fault(crypto(estate, "vc-a", "off-required", encrypt="nkp-vc-a"))
        assert isinstance(fault, InvalidState)
        assert fault.message == "off-required has 1 snapshot(s): a VM with snapshots cannot be encrypted or decrypted; remove them first"
    finally:
        removed = client.api.RemoveSnapshot(vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref("off-required"), snapshot="s1"))
        assert wait_task(client, removed).state == common_pb2.TASK_STATE_SUCCESS

    with pytest.raises(Exception, match="neither encrypt nor decrypt"):
        crypto(estate, "vc-a", "off-required")
    with pytest.raises(Exception, match="encrypts or decrypts the VM alone"):
        crypto(estate, "vc-a", "off-required", encrypt="", migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED)


def test_ciphertext_crosses_cold_then_the_other_vcenter_decrypts_it(estate):
    path = disk_file(estate, "vc-a", "off-required")
    marker = write_marker(path)
    assert crypto(estate, "vc-a", "off-required", encrypt="kms-shared").state == common_pb2.TASK_STATE_SUCCESS
    task = to_vc_b(estate, client_of(estate, "vc-a"), "off-required")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert not task.migration.hot and "encrypted at rest" in task.migration.reason
    there = disk_file(estate, "vc-b", "off-required")
    assert marker not in on_disk(there)
    assert crypto(estate, "vc-b", "off-required", decrypt=True).state == common_pb2.TASK_STATE_SUCCESS
    assert marker in on_disk(there)


def test_ciphertext_crosses_hot_and_stays_ciphertext_at_rest(estate):
    path = disk_file(estate, "vc-b", "off-required")       # moved there by the test before
    marker = write_marker(path)
    assert crypto(estate, "vc-b", "off-required", encrypt="kms-shared").state == common_pb2.TASK_STATE_SUCCESS
    power(estate, "vc-b", "off-required", on=True)
    task = relocate(client_of(estate, "vc-b"), "off-required", host="a70", datastore="ds-a", pool="cluster-a",
                    service=locator_of(estate, "vc-a"))
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert task.migration.hot and task.migration.encrypted
    back = disk_file(estate, "vc-a", "off-required")
    assert marker not in on_disk(back)
    power(estate, "vc-a", "off-required", on=False)
    assert crypto(estate, "vc-a", "off-required", decrypt=True).state == common_pb2.TASK_STATE_SUCCESS
    assert marker in on_disk(back)


def test_a_kms_that_is_down_fails_the_encryption_and_leaves_the_vm_as_it_was(estate):
    path = disk_file(estate, "vc-a", "off-required")
    marker = write_marker(path)
    before = vm_of(estate, "vc-a", "off-required")
    estate.kms["kms-shared"].kill()
    fault = task_fault(crypto(estate, "vc-a", "off-required", encrypt="kms-shared"))
    assert isinstance(fault, KmsUnreachable)
    assert fault.message.startswith("key provider kms-shared: cannot create a key: the KMS at 127.0.0.1:")
    assert vm_of(estate, "vc-a", "off-required") == before
    assert marker in on_disk(path)
    assert not [p for p in os.listdir(os.path.dirname(path)) if p.endswith(".crypt")]
    # the Native Key Provider does not need the KMS
    assert crypto(estate, "vc-a", "off-required", encrypt="nkp-vc-a").state == common_pb2.TASK_STATE_SUCCESS
    assert marker not in on_disk(path)

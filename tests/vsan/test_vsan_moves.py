"""Moves between vSAN datastores with and without vSAN encryption, across vCenters (row D4): encrypted
vMotion works with both kinds, hot and cold; a disk leaves an encrypted vSAN datastore decrypted from
its layer and is encrypted again by the destination's, if that one is encrypted; the guest's disk and
the VM's encryption state and mode are what they were."""

from __future__ import annotations

import pytest
from vsan_estate import at_rest, crypto, disk_of, guest_digest, guest_view, guest_write_marker, move, vm_of, vsan_estate

from linkedmode.model.settings import MigrateEncryption
from linkedmode.v1 import common_pb2


@pytest.fixture(scope="module")
def estate():
    with vsan_estate() as running:
        yield running


def moved(task: common_pb2.Task, *, hot: bool) -> common_pb2.Task:
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert task.migration.hot is hot
    return task


def test_hot_from_an_encrypted_vsan_datastore_to_a_plain_one_arrives_readable(estate):
    marker = guest_write_marker(estate, "vc-a", "hot-plain")
    digest = guest_digest(estate, "vc-a", "hot-plain")
    task = moved(move(estate, "vc-a", "hot-plain", "vc-b", "b1", "ds-b-plain"), hot=True)
    assert task.migration.encrypted                          # the page stream is sealed by the migration key
    assert marker in at_rest(estate, "vc-b", "hot-plain")
    assert guest_digest(estate, "vc-b", "hot-plain") == digest
    vm = vm_of(estate, "vc-b", "hot-plain")
    assert (vm.encrypted, vm.migrate_encryption) == (False, MigrateEncryption.OPPORTUNISTIC)


def test_hot_from_a_plain_datastore_to_an_encrypted_vsan_one_is_encrypted_there(estate):
    marker = guest_write_marker(estate, "vc-b", "hot-plain")     # moved to vc-b by the test before
    digest = guest_digest(estate, "vc-b", "hot-plain")
    task = moved(move(estate, "vc-b", "hot-plain", "vc-a", "a2", "ds-a-vsan-enc"), hot=True)
    assert task.migration.encrypted
    _, store = disk_of(estate, "vc-a", "hot-plain")
    assert store.name == "ds-a-vsan-enc" and marker not in at_rest(estate, "vc-a", "hot-plain")
    assert marker in guest_view(estate, "vc-a", "hot-plain")
    assert guest_digest(estate, "vc-a", "hot-plain") == digest
    assert vm_of(estate, "vc-a", "hot-plain").migrate_encryption == MigrateEncryption.OPPORTUNISTIC


def test_hot_from_a_vsan_datastore_without_encryption_with_encrypted_vmotion(estate):
    marker = guest_write_marker(estate, "vc-a", "hot-vsan")
    digest = guest_digest(estate, "vc-a", "hot-vsan")
    task = moved(move(estate, "vc-a", "hot-vsan", "vc-b", "b1", "ds-b-vsan-enc"), hot=True)
    assert task.migration.encrypted and task.migration.mode_asked == common_pb2.MIGRATE_ENCRYPTION_REQUIRED
    assert marker not in at_rest(estate, "vc-b", "hot-vsan") and marker in guest_view(estate, "vc-b", "hot-vsan")
    assert guest_digest(estate, "vc-b", "hot-vsan") == digest
    vm = vm_of(estate, "vc-b", "hot-vsan")
    assert (vm.encrypted, vm.migrate_encryption) == (False, MigrateEncryption.REQUIRED)


def test_an_encrypted_vm_crosses_between_encrypted_vsan_datastores_as_its_own_ciphertext(estate):
    before = vm_of(estate, "vc-a", "hot-encrypted")
    digest = guest_digest(estate, "vc-a", "hot-encrypted")       # the VM's ciphertext, under the vSAN layer
    source_bytes = at_rest(estate, "vc-a", "hot-encrypted")
    task = moved(move(estate, "vc-a", "hot-encrypted", "vc-b", "b1", "ds-b-vsan-enc"), hot=True)
    assert task.migration.encrypted
    assert guest_digest(estate, "vc-b", "hot-encrypted") == digest
    assert at_rest(estate, "vc-b", "hot-encrypted") != source_bytes     # another datastore, another vSAN key
    after = vm_of(estate, "vc-b", "hot-encrypted")
    assert (after.encrypted, after.key_provider, after.key_id, after.migrate_encryption) == \
        (True, "kms-shared", before.key_id, MigrateEncryption.REQUIRED)


def test_cold_moves_between_encrypted_vsan_and_plain_datastores_keep_the_guest_disk(estate):
    marker = guest_write_marker(estate, "vc-a", "cold")
    digest = guest_digest(estate, "vc-a", "cold")

    task = moved(move(estate, "vc-a", "cold", "vc-b", "b1", "ds-b-vsan-enc"), hot=False)
    assert "in the clear" in task.migration.reason          # NFC is not encrypted (row D2), whatever the datastores
    assert marker not in at_rest(estate, "vc-b", "cold") and marker in guest_view(estate, "vc-b", "cold")
    assert guest_digest(estate, "vc-b", "cold") == digest

    moved(move(estate, "vc-b", "cold", "vc-a", "a1", "ds-a-plain"), hot=False)
    assert marker in at_rest(estate, "vc-a", "cold")                        # left the vSAN layer: readable
    assert guest_digest(estate, "vc-a", "cold") == digest
    vm = vm_of(estate, "vc-a", "cold")
    assert (vm.encrypted, vm.migrate_encryption) == (False, MigrateEncryption.DISABLED)


def test_a_cold_encrypted_vm_crosses_onto_an_encrypted_vsan_datastore_and_decrypts_there(estate):
    marker = guest_write_marker(estate, "vc-a", "cold")            # on ds-a-plain since the test before
    assert crypto(estate, "vc-a", "cold", encrypt="kms-shared").state == common_pb2.TASK_STATE_SUCCESS
    digest = guest_digest(estate, "vc-a", "cold")
    task = moved(move(estate, "vc-a", "cold", "vc-b", "b1", "ds-b-vsan-enc"), hot=False)
    assert "encrypted at rest" in task.migration.reason
    assert guest_digest(estate, "vc-b", "cold") == digest            # the VM's ciphertext, as it was
    assert marker not in guest_view(estate, "vc-b", "cold")
    assert crypto(estate, "vc-b", "cold", decrypt=True).state == common_pb2.TASK_STATE_SUCCESS
    assert marker in guest_view(estate, "vc-b", "cold") and marker not in at_rest(estate, "vc-b", "cold")

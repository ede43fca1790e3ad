"""Encrypted VMs crossing vCenters (row X6): the destination gets the VM's key by id from its key
provider (a KMS both trust, or a Native Key Provider restored from the source's backup), else the move
fails before the switchover and the VM goes on running on the source."""

from __future__ import annotations

import pytest
from estate_helpers import client_of
from migration_estate import fault_of, locator_of, migration_estate, relocate, to_vc_b, vm_names

from linkedmode.model.faults import MigrationFault
from linkedmode.model.inventory import Vm
from linkedmode.model.settings import PowerState
from linkedmode.v1 import common_pb2

PASSWORD = "a long backup password"


@pytest.fixture(scope="module")
def estate():
    with migration_estate() as running:
        yield running


def vm_of(estate, vcenter: str, name: str) -> Vm:
    return estate.vcenters[vcenter].vcenter.state.find(Vm, name=name)


def stayed_on_vc_a(estate, name: str) -> None:
    assert name in vm_names(client_of(estate, "vc-a")) and name not in vm_names(client_of(estate, "vc-b"))
    assert vm_of(estate, "vc-a", name).power_state == PowerState.POWERED_ON
    for server in estate.vcenters.values():
        assert not server.vcenter.arrivals.pending()


def test_with_a_kms_both_trust_the_key_is_the_same_by_id_and_the_vm_crosses(estate):
    vm = vm_of(estate, "vc-a", "encrypted")
    key_a = estate.vcenters["vc-a"].vcenter.keys.key("kms-shared", vm.key_id)
    assert key_a == estate.vcenters["vc-b"].vcenter.keys.key("kms-shared", vm.key_id)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "encrypted")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    arrived = vm_of(estate, "vc-b", "encrypted")
    assert (arrived.encrypted, arrived.key_provider, arrived.key_id) == (True, "kms-shared", vm.key_id)


def test_native_key_provider_needs_the_source_backup_restored_first(estate):
    vc_a, vc_b = estate.vcenters["vc-a"].vcenter, estate.vcenters["vc-b"].vcenter
    fault = fault_of(to_vc_b(estate, client_of(estate, "vc-a"), "nkp"))
    assert type(fault) is MigrationFault
    assert fault.message == ("Unable to decrypt the ciphertext. Failed to decrypt the key: "
                             "vc-b has no key provider 'nkp-vc-a' (it has kms-shared)")
    stayed_on_vc_a(estate, "nkp")

    assert vc_b.keys.restore(vc_a.keys.backup("nkp-vc-a", PASSWORD), PASSWORD) == "nkp-vc-a"
    assert "nkp-vc-a" in vc_b.key_providers
    task = to_vc_b(estate, client_of(estate, "vc-a"), "nkp")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert vm_of(estate, "vc-b", "nkp").key_provider == "nkp-vc-a"


def test_a_kms_that_is_down_fails_the_move_before_the_switchover(estate):
    vm = vm_of(estate, "vc-b", "encrypted")      # moved here by the first test
    back_to = "vc-a"
    estate.kms["kms-shared"].kill()
    assert not estate.kms["kms-shared"].running
    task = relocate(client_of(estate, "vc-b"), "encrypted", host="a70", datastore="ds-a", pool="cluster-a",
                    service=locator_of(estate, back_to))
    fault = fault_of(task)
    assert type(fault) is MigrationFault
    assert fault.message.startswith("Unable to decrypt the ciphertext. Failed to decrypt the key: key provider kms-shared: "
                                    f"cannot get key {vm.key_id}: the KMS at ")
    assert fault.message.endswith("does not answer (connection refused)")
    assert vm_of(estate, "vc-b", "encrypted").power_state == PowerState.POWERED_ON
    assert "encrypted" not in vm_names(client_of(estate, "vc-a"))

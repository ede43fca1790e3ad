"""Every refusal of a bad RelocateSpec, with the fault vSphere would give; nothing moves (rows X2, X3)."""

from __future__ import annotations

import grpc
import pytest
from estate_helpers import call_fault, client_of
from migration_estate import fault_of, locator_of, migration_estate, relocate, to_vc_b, vm_names

from linkedmode.model.faults import (
    HostNotConnected,
    InvalidArgument,
    MacAddressConflict,
    MigrationFault,
    MigrationFeatureNotSupported,
    NotFound,
    NotSupported,
    SSLVerifyFault,
)
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


def nothing_moved(estate, vm: str = "opportunistic") -> None:
    assert vm in vm_names(client_of(estate, "vc-a"))
    assert vm not in vm_names(client_of(estate, "vc-b")) or vm == "mac-holder"
    for server in estate.vcenters.values():
        assert not server.vcenter.arrivals.pending()
    for host in estate.hosts.values():
        assert not host.migrations.snapshots()


def test_a_locator_naming_an_unknown_vcenter(estate):
    vc_a = client_of(estate, "vc-a")
    locator = vcenter_pb2.ServiceLocator(instance_uuid="00000000-0000-0000-0000-000000000000", ssl_thumbprint="AA:BB")
    fault = fault_of(to_vc_b(estate, vc_a, "opportunistic", service=locator))
    assert isinstance(fault, NotFound)
    assert fault.message.startswith("no vCenter with instance UUID 00000000-0000-0000-0000-000000000000 is linked with vc-a")
    nothing_moved(estate)


def test_a_locator_with_a_wrong_thumbprint(estate):
    vc_a = client_of(estate, "vc-a")
    locator = locator_of(estate, "vc-b")
    locator.ssl_thumbprint = ":".join(["AB"] * 32)
    fault = fault_of(to_vc_b(estate, vc_a, "opportunistic", service=locator))
    assert isinstance(fault, SSLVerifyFault) and "the certificate of vc-b does not match the thumbprint" in fault.message
    nothing_moved(estate)


def test_a_locator_with_a_wrong_instance_uuid(estate):
    vc_a = client_of(estate, "vc-a")
    locator = locator_of(estate, "vc-b")
    locator.instance_uuid = "11111111-1111-1111-1111-111111111111"
    fault = fault_of(to_vc_b(estate, vc_a, "opportunistic", service=locator))
    assert isinstance(fault, InvalidArgument)
    assert "ServiceLocator.instance_uuid 11111111-1111-1111-1111-111111111111 does not match vc-b" in fault.message
    nothing_moved(estate)


def test_a_vcenter_of_another_sso_domain(estate):
    vc_a = client_of(estate, "vc-a")
    fault = fault_of(to_vc_b(estate, vc_a, "opportunistic", host="x70", datastore="ds-x", pool="cluster-x",
                             service=locator_of(estate, "vc-x")))
    assert isinstance(fault, NotSupported)
    assert fault.message.startswith("vc-x at ") and "belongs to SSO domain corp.local, not linked with vsphere.local" in fault.message
    nothing_moved(estate)


def to_vc_old(estate, vm: str) -> common_pb2.Task:
    return to_vc_b(estate, client_of(estate, "vc-a"), vm, host="o67", datastore="ds-old", pool="cluster-old",
                   service=locator_of(estate, "vc-old"))


def test_a_required_vm_cannot_move_to_a_vcenter_before_7_0(estate):
    """Row X2: the 7.0 floor is for encrypted vMotion between vCenters."""
    fault = fault_of(to_vc_old(estate, "required"))
    assert isinstance(fault, MigrationFeatureNotSupported)
    assert fault.message == ("migrate_encryption is required but vCenter vc-old runs 6.7.0, before 7.0: encrypted vMotion "
                             "between vCenters is not supported")
    nothing_moved(estate, "required")


@pytest.mark.parametrize("vm,fell_back", [("disabled", False), ("opportunistic", True)])
def test_an_unencrypted_move_to_a_vcenter_before_7_0_goes_ahead(estate, vm, fell_back):
    task = to_vc_old(estate, vm)
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert not task.migration.encrypted and not task.migration.stream.encrypted and task.migration.fell_back == fell_back
    if fell_back:
        assert task.migration.reason == "fell back to plaintext: vCenter vc-old runs 6.7.0, before 7.0"
    assert vm in vm_names(client_of(estate, "vc-old")) and vm not in vm_names(client_of(estate, "vc-a"))
    types = {e.type for c in ("vc-a", "vc-old") for e in client_of(estate, c).api.QueryEvents(vcenter_pb2.EventFilter()).events}
    assert "VmMigratedEvent" in types and "com.vmware.vc.vm.VmHotMigratingWithEncryptionEvent" not in types


@pytest.mark.parametrize("missing", ["host", "datastore", "pool"])
def test_host_pool_and_datastore_are_required_with_a_locator(estate, missing):
    vc_a = client_of(estate, "vc-a")
    spec = {"host": "b70", "datastore": "ds-b", "pool": "cluster-b", "service": locator_of(estate, "vc-b")}
    del spec[missing]
    request = vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"), spec=vcenter_pb2.RelocateSpec(**spec))
    code, fault = call_fault(vc_a.api.RelocateVm, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    assert fault.message == f"spec.{missing} is required when spec.service names another vCenter"
    nothing_moved(estate)


def test_a_host_that_is_not_connected(estate):
    estate.hosts["b70"].stop()
    vc_a = client_of(estate, "vc-a")
    fault = fault_of(to_vc_b(estate, vc_a, "opportunistic", "b70"))
    assert isinstance(fault, HostNotConnected) and fault.message == "host b70 is not responding"
    hosts = client_of(estate, "vc-b").api.ListHosts(inventory_pb2.ListRequest()).hosts
    assert next(h for h in hosts if h.name == "b70").connection_state == inventory_pb2.HOST_CONNECTION_STATE_NOT_RESPONDING
    assert "opportunistic" in vm_names(vc_a)


def test_a_mac_conflict_on_the_destination(estate):
    vc_a = client_of(estate, "vc-a")
    fault = fault_of(to_vc_b(estate, vc_a, "twin"))
    assert isinstance(fault, MacAddressConflict)
    assert fault.message == "MAC address 00:50:56:3f:00:01 of twin is already used by mac-holder in vc-b"
    nothing_moved(estate, "twin")


def test_an_encrypted_vm_whose_key_the_destination_cannot_get(estate):
    """Row X6: the move fails before switchover and the VM stays on the source."""
    vc_a = client_of(estate, "vc-a")
    fault = fault_of(to_vc_b(estate, vc_a, "nkp"))
    assert type(fault) is MigrationFault
    assert fault.message.startswith("Unable to decrypt the ciphertext. Failed to decrypt the key: vc-b has no key provider 'nkp-vc-a'")
    nothing_moved(estate, "nkp")


def test_a_cold_move_of_a_required_vm_with_clear_disks_goes_ahead_in_the_clear(estate):
    """Rows D2, D3: migrate_encryption applies to vMotion; the copy is not encrypted, and the result says so."""
    task = to_vc_b(estate, client_of(estate, "vc-a"), "off-required")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    result = task.migration
    assert not result.hot and not result.encrypted and not result.HasField("stream") and result.disks_moved == 1
    assert result.reason == ("cold move: disks copied in the clear (NFC: not encrypted in transit; "
                             "migrate_encryption applies to vMotion only)")
    assert "off-required" in vm_names(client_of(estate, "vc-b"))


def test_inside_one_vcenter_a_move_to_where_it_is(estate):
    vc_a = client_of(estate, "vc-a")
    fault = fault_of(relocate(vc_a, "opportunistic", host="a70"))
    assert isinstance(fault, InvalidArgument) and fault.message == "opportunistic is already on a70"

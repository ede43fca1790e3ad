"""Row X7: a VM moves between vCenters of two SSO domains when the ServiceLocator carries a credential
for the destination; the source pins the destination's certificate by thumbprint and logs in there."""

from __future__ import annotations

import pytest
from cross_domain_helpers import corp_events, corp_locator, corp_vm_names, to_corp
from estate_helpers import client_of, task_fault

from linkedmode.estate import start_estate
from linkedmode.model.faults import InvalidLogin, NoPermission, NotSupported, SSLVerifyFault
from linkedmode.topology import default_topology
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture(scope="module")
def estate():
    with start_estate(default_topology()) as running:
        yield running


def source_vms(estate) -> dict[str, vcenter_pb2.VirtualMachine]:
    client = client_of(estate, "vc-a")
    try:
        return {vm.name: vm for vm in client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
    finally:
        client.close()


def source_events(estate) -> list[common_pb2.Event]:
    client = client_of(estate, "vc-a")
    try:
        return list(client.api.QueryEvents(vcenter_pb2.EventFilter()).events)
    finally:
        client.close()


def nothing_sent(estate, vm: str) -> None:
    """The VM still runs on vc-a; no host holds a migration; vc-corp has no arrival."""
    assert source_vms(estate)[vm].power_state == common_pb2.POWER_STATE_POWERED_ON
    assert vm not in corp_vm_names(estate)
    for host in estate.hosts.values():
        assert not host.migrations.snapshots()
    assert not estate.vcenters["vc-corp"].vcenter.arrivals.pending()


def test_a_wrong_password_fails_with_invalid_login_before_anything_is_sent(estate):
    fault = task_fault(to_corp(estate, "app-required", corp_locator(estate, password="not-the-password")))
    assert isinstance(fault, InvalidLogin)
    assert fault.message == "cannot log in to vc-corp: incorrect user name or password"
    nothing_sent(estate, "app-required")


def test_an_unknown_user_reads_as_a_wrong_password(estate):
    fault = task_fault(to_corp(estate, "app-required", corp_locator(estate, user="nobody")))
    assert isinstance(fault, InvalidLogin) and fault.message == "cannot log in to vc-corp: incorrect user name or password"


def test_a_wrong_thumbprint_fails_with_ssl_verify_fault_and_sends_no_password(estate):
    locator = corp_locator(estate)
    locator.ssl_thumbprint = ":".join(["AB"] * 32)
    sessions = estate.vcenters["vc-corp"].sessions
    before = sessions.count()
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, SSLVerifyFault)
    assert fault.message.startswith(f"the certificate at {locator.url} (vc-corp) does not match the thumbprint AB:AB")
    assert sessions.count() == before
    nothing_sent(estate, "app-required")


def test_without_a_credential_another_domain_is_refused_as_before(estate):
    locator = corp_locator(estate)
    locator.ClearField("credential")
    locator.url = estate.vcenters["vc-corp"].address
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, NotSupported)
    assert "belongs to SSO domain corp.local, not linked with vsphere.local" in fault.message
    nothing_sent(estate, "app-required")


def test_a_read_only_user_is_refused_with_the_permission_fault(estate):
    fault = task_fault(to_corp(estate, "app-required", corp_locator(estate, user="auditor")))
    assert isinstance(fault, NoPermission)
    assert fault.message == "user auditor (read-only) may not move a VM to vc-corp: it needs the admin role"
    nothing_sent(estate, "app-required")


def test_a_required_vm_moves_encrypted_to_the_other_domain(estate):
    task = to_corp(estate, "app-required", corp_locator(estate, user="administrator@corp.local"))
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert task.migration.encrypted and task.migration.stream.encrypted and task.migration.vcenter == "vc-corp"
    assert "app-required" not in source_vms(estate)
    assert "app-required" in corp_vm_names(estate)
    on_source = {e.type for e in source_events(estate) if e.vm_name == "app-required"}
    on_corp = {e.type for e in corp_events(estate) if e.vm_name == "app-required"}
    assert {"VmMigratedEvent", "com.vmware.vc.vm.VmHotMigratingWithEncryptionEvent"} <= on_source & on_corp
    migrated = next(e for e in corp_events(estate) if e.vm_name == "app-required" and e.type == "VmMigratedEvent")
    assert migrated.user == "administrator" and migrated.arguments["sourceVcenter"] == "vc-a"   # the move ran as this user
    assert estate.vcenters["vc-corp"].sessions.count() == 0    # the source logged out

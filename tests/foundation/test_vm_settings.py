"""migrate_encryption rules through the real API (rows E1, E5, E6)."""

from __future__ import annotations

import grpc
import pytest
from estate_helpers import call_fault, client_of, task_fault, vm_ref, wait_task

from linkedmode.estate import start_estate
from linkedmode.model.faults import InvalidArgument, InvalidPowerState, InvalidState
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

OPPORTUNISTIC = common_pb2.MIGRATE_ENCRYPTION_OPPORTUNISTIC
REQUIRED = common_pb2.MIGRATE_ENCRYPTION_REQUIRED
DISABLED = common_pb2.MIGRATE_ENCRYPTION_DISABLED


def reconfig(client, vm: str, mode: int) -> common_pb2.Task:
    request = vcenter_pb2.ReconfigVmRequest(vm=vm_ref(vm), spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=mode))
    return wait_task(client, client.api.ReconfigVm(request))


def test_a_new_vm_is_opportunistic():
    """Row E1: a VM whose topology says nothing of migrate_encryption reads opportunistic."""
    topology = parse_topology({"sso_domains": [{"name": "vsphere.local", "vcenters": [{
        "name": "vc-a", "version": "7.0.3", "datacenters": [{
            "name": "dc", "clusters": [{"name": "c", "hosts": [{"name": "esx-1", "version": "7.0.3"}]}],
            "datastores": [{"name": "ds"}], "vms": [{"name": "fresh", "host": "esx-1"}],
        }]}]}]}, "inline")
    with start_estate(topology) as estate:
        vm = client_of(estate, "vc-a").api.GetVm(vm_ref("fresh"))
    assert vm.migrate_encryption == OPPORTUNISTIC


def test_changing_it_on_a_powered_on_vm_fails_with_invalid_power_state(vc_a):
    task = reconfig(vc_a, "app-opportunistic", REQUIRED)
    fault = task_fault(task)
    assert isinstance(fault, InvalidPowerState)
    assert fault.message == "migrate_encryption of app-opportunistic changes only while it is powered off; it is poweredOn"
    assert fault.arguments == {"requested_state": "poweredOff", "existing_state": "poweredOn"}
    assert vc_a.api.GetVm(vm_ref("app-opportunistic")).migrate_encryption == OPPORTUNISTIC


def test_changing_it_on_a_powered_off_vm_works_and_posts_an_event(vc_a):
    assert vc_a.api.GetVm(vm_ref("batch-off")).migrate_encryption != REQUIRED     # read (and its answer kept) before
    task = reconfig(vc_a, "batch-off", REQUIRED)
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task
    assert vc_a.api.GetVm(vm_ref("batch-off")).migrate_encryption == REQUIRED
    events = vc_a.api.QueryEvents(vcenter_pb2.EventFilter(vm="batch-off", types=["VmReconfiguredEvent"])).events
    assert [e.message for e in events] == ["Reconfigured batch-off: migrate_encryption = required"]
    assert events[0].user == "administrator" and events[0].task == task.key


@pytest.mark.parametrize("value", [common_pb2.MIGRATE_ENCRYPTION_UNSPECIFIED, 7, -1])
def test_an_unknown_value_fails_with_invalid_argument(vc_a, value):
    request = vcenter_pb2.ReconfigVmRequest(vm=vm_ref("batch-off"), spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=value))
    code, fault = call_fault(vc_a.api.ReconfigVm, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(fault, InvalidArgument)
    assert f"migrate_encryption {value} is not one of MIGRATE_ENCRYPTION_DISABLED (1)" in fault.message
    assert vc_a.api.GetVm(vm_ref("batch-off")).migrate_encryption == OPPORTUNISTIC


def test_an_encrypted_vm_reads_required_and_refuses_a_change_even_powered_off(vc_a):
    vm = vc_a.api.GetVm(vm_ref("db-encrypted"))
    assert vm.crypto.encrypted and vm.migrate_encryption == REQUIRED
    assert wait_task(vc_a, vc_a.api.PowerOffVm(vm_ref("db-encrypted"))).state == common_pb2.TASK_STATE_SUCCESS
    for mode in (DISABLED, OPPORTUNISTIC):
        fault = task_fault(reconfig(vc_a, "db-encrypted", mode))
        assert isinstance(fault, InvalidState) and not isinstance(fault, InvalidPowerState)
        assert "is encrypted: its migrate_encryption reads required" in fault.message
    assert vc_a.api.GetVm(vm_ref("db-encrypted")).migrate_encryption == REQUIRED


def test_a_spec_without_changes_changes_nothing(vc_a):
    request = vcenter_pb2.ReconfigVmRequest(vm=vm_ref("app-opportunistic"), spec=vcenter_pb2.VirtualMachineConfigSpec())
    task = wait_task(vc_a, vc_a.api.ReconfigVm(request))
    assert task.state == common_pb2.TASK_STATE_SUCCESS
    assert not vc_a.api.QueryEvents(vcenter_pb2.EventFilter(types=["VmReconfiguredEvent"])).events

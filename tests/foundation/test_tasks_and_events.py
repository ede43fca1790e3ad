"""Tasks and events as first-class objects: power operations, watch streams, cancel, lookups."""

from __future__ import annotations

import threading

import grpc
from estate_helpers import call_fault, client_of, task_fault, vm_ref, wait_task

from linkedmode.client import connect_host
from linkedmode.model.faults import InvalidArgument, InvalidPowerState, InvalidState, NotFound
from linkedmode.v1 import common_pb2, host_agent_pb2, host_agent_pb2_grpc, inventory_pb2, vcenter_pb2


def running_on_host(estate, host: str, vcenter: str) -> dict[str, int]:
    credential = estate.credential("vsphere.local", "vcenter", vcenter)
    stub = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts[host].address, credential, host))
    return {vm.name: vm.power_state for vm in stub.ListVms(host_agent_pb2.ListHostVmsRequest()).vms}


def test_power_off_and_on_are_tasks_that_reach_the_host_and_post_events(estate, vc_a):
    assert running_on_host(estate, "esx-a1", "vc-a")["app-disabled"] == common_pb2.POWER_STATE_POWERED_ON
    task = vc_a.api.PowerOffVm(vm_ref("app-disabled"))
    assert task.state in (common_pb2.TASK_STATE_QUEUED, common_pb2.TASK_STATE_RUNNING, common_pb2.TASK_STATE_SUCCESS)
    assert task.description_id == "VirtualMachine.powerOff" and task.entity_name == "app-disabled"
    done = wait_task(vc_a, task)
    assert done.state == common_pb2.TASK_STATE_SUCCESS and done.progress == 100
    assert done.power.power_state == common_pb2.POWER_STATE_POWERED_OFF and done.complete_time.seconds > 0
    assert running_on_host(estate, "esx-a1", "vc-a")["app-disabled"] == common_pb2.POWER_STATE_POWERED_OFF
    assert wait_task(vc_a, vc_a.api.PowerOnVm(vm_ref("app-disabled"))).state == common_pb2.TASK_STATE_SUCCESS
    assert running_on_host(estate, "esx-a1", "vc-a")["app-disabled"] == common_pb2.POWER_STATE_POWERED_ON
    types = [e.type for e in vc_a.api.QueryEvents(vcenter_pb2.EventFilter(vm="app-disabled")).events]
    assert types == ["VmRegisteredEvent", "VmStoppingEvent", "VmPoweredOffEvent", "VmStartingEvent", "VmPoweredOnEvent"]


def test_powering_on_a_running_vm_fails_the_task_with_invalid_power_state(vc_a):
    fault = task_fault(wait_task(vc_a, vc_a.api.PowerOnVm(vm_ref("app-required"))))
    assert isinstance(fault, InvalidPowerState) and fault.message == "app-required is already powered on"


def test_wait_task_streams_until_the_end(vc_a):
    task = vc_a.api.PowerOffVm(vm_ref("app-required"))
    states = [t.state for t in vc_a.api.WaitTask(vcenter_pb2.GetTaskRequest(key=task.key), timeout=10)]
    assert states[-1] == common_pb2.TASK_STATE_SUCCESS
    assert common_pb2.TASK_STATE_SUCCESS not in states[:-1]
    assert vc_a.api.GetTask(vcenter_pb2.GetTaskRequest(key=task.key)).state == common_pb2.TASK_STATE_SUCCESS
    assert [t.key for t in vc_a.api.ListTasks(vcenter_pb2.ListTasksRequest(entity=task.entity)).tasks] == [task.key]


def test_watch_events_streams_new_events(estate, vc_a):
    last = vc_a.api.QueryEvents(vcenter_pb2.EventFilter()).events[-1].key
    seen: list[common_pb2.Event] = []
    stream = vc_a.api.WatchEvents(vcenter_pb2.EventFilter(after_key=last, types=["VmPoweredOffEvent"]), timeout=20)

    def read() -> None:
        for event in stream:
            seen.append(event)
            return

    reader = threading.Thread(target=read)
    reader.start()
    wait_task(vc_a, vc_a.api.PowerOffVm(vm_ref("app-opportunistic")))
    reader.join(10)
    stream.cancel()
    assert [e.vm_name for e in seen] == ["app-opportunistic"]
    assert seen[0].key > last and seen[0].host == "esx-a1" and seen[0].datacenter == "dc-a"


def test_a_finished_task_cannot_be_cancelled(vc_a):
    task = wait_task(vc_a, vc_a.api.PowerOffVm(vm_ref("app-opportunistic")))
    code, fault = call_fault(vc_a.api.CancelTask, vcenter_pb2.GetTaskRequest(key=task.key))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(fault, InvalidState)
    assert "has already ended (success)" in fault.message


def test_unknown_objects_are_not_found_with_a_clear_fault(vc_a):
    code, fault = call_fault(vc_a.api.GetVm, vm_ref("no-such-vm"))
    assert code == grpc.StatusCode.NOT_FOUND and isinstance(fault, NotFound)
    assert fault.message == "vc-a has no vm named 'no-such-vm'" and fault.object == "no-such-vm"
    code, fault = call_fault(vc_a.api.GetTask, vcenter_pb2.GetTaskRequest(key="task-vc-a-999"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, fault = call_fault(vc_a.api.PowerOnVm, common_pb2.ObjectRef())
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    code, _ = call_fault(vc_a.api.GetHost, common_pb2.ObjectRef(moid="vm-1"))
    assert code == grpc.StatusCode.NOT_FOUND


def test_inventory_lists_and_lookups(estate):
    vc_b = client_of(estate, "vc-b")
    hosts = {h.name: h for h in vc_b.api.ListHosts(inventory_pb2.ListRequest()).hosts}
    assert {n: h.version for n, h in hosts.items()} == {"esx-b1": "7.0.3", "esx-b2": "6.7.0", "esx-b3": "7.0.3"}
    # row E12: the capability shows as HostCapability.encryptedVMotionSupported (esx-b3 has no AES-NI)
    assert {n: h.capability.encrypted_vmotion_supported for n, h in hosts.items()} == {"esx-b1": True, "esx-b2": True, "esx-b3": False}
    assert all(h.connection_state == inventory_pb2.HOST_CONNECTION_STATE_CONNECTED for h in hosts.values())
    assert [d.name for d in vc_b.api.ListDatacenters(inventory_pb2.ListRequest()).datacenters] == ["dc-b"]
    assert vc_b.api.ListClusters(inventory_pb2.ListRequest(datacenter="dc-b")).clusters[0].hosts
    assert vc_b.api.ListDatastores(inventory_pb2.ListRequest()).datastores
    assert [n.name for n in vc_b.api.ListNetworks(inventory_pb2.ListRequest()).networks] == ["VM Network"]
    on_b1 = vc_b.api.ListVms(vcenter_pb2.ListVmsRequest(host="esx-b1")).vms
    assert on_b1 and all(vm.host == hosts["esx-b1"].moid for vm in on_b1)
    by_moid = vc_b.api.ListVms(vcenter_pb2.ListVmsRequest(host=hosts["esx-b1"].moid, datacenter="dc-b")).vms
    assert [vm.moid for vm in by_moid] == [vm.moid for vm in on_b1]   # a filter is a moid or a name
    about = vc_b.api.GetAbout(vcenter_pb2.GetAboutRequest())
    assert (about.name, about.version, about.api_type, about.sso_domain) == ("vc-b", "7.0.3", "VirtualCenter", "vsphere.local")
    assert len(about.thumbprint.split(":")) == 32 and about.url == estate.vcenters["vc-b"].address
    linked = {p.name: p for p in vc_b.api.ListLinkedVCenters(vcenter_pb2.ListLinkedVCentersRequest()).vcenters}
    assert set(linked) == {"vc-a", "vc-legacy"} and linked["vc-legacy"].version == "6.7.0"
    assert linked["vc-a"].instance_uuid == client_of(estate, "vc-a").api.GetAbout(vcenter_pb2.GetAboutRequest()).instance_uuid


def test_vm_macs_are_vcenter_assigned_unless_given(vc_a):
    macs = {vm.name: [n.mac_address for n in vm.nics] for vm in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
    assert macs["app-disabled"] == ["00:50:56:3a:00:01"]
    assigned = [m for name, ms in macs.items() if name != "app-disabled" for m in ms]
    assert assigned and all(m.startswith("00:50:56:") and 0x80 <= int(m.split(":")[3], 16) <= 0xBF for m in assigned)
    assert len(set(assigned)) == len(assigned)

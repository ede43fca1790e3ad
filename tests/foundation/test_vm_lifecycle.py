"""Building an estate through the API: CreateVm, DestroyVm and snapshots, each a task, over mutual TLS
against real servers on port 0."""

from __future__ import annotations

import os

import grpc
import pytest
from estate_helpers import call_fault, client_of, task_fault, vm_ref, wait_task
from migration_estate import locator_of, migration_estate, relocate, to_vc_b, vm_names

from linkedmode.client import connect_host
from linkedmode.estate import start_estate
from linkedmode.model.faults import (
    DuplicateName,
    InvalidArgument,
    InvalidPowerState,
    NoPermission,
    NotFound,
)
from linkedmode.model.inventory import Vm
from linkedmode.topology import default_topology
from linkedmode.v1 import common_pb2, host_agent_pb2, host_agent_pb2_grpc, inventory_pb2, vcenter_pb2

OK = common_pb2.TASK_STATE_SUCCESS


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """One small estate with its state on disk (restarts keep the inventory) for the module."""
    with migration_estate(tmp_path_factory.mktemp("lifecycle")) as running:
        yield running


@pytest.fixture
def vc_a(estate):
    client = client_of(estate, "vc-a")
    yield client
    client.close()


@pytest.fixture
def vc_b(estate):
    client = client_of(estate, "vc-b")
    yield client
    client.close()


def create_request(name: str, **changes) -> vcenter_pb2.CreateVmRequest:
    fields = {"host": "a70", "datastore": "ds-a", "memory_mb": 16, "disks": [vcenter_pb2.VirtualDiskSpec(capacity_mb=8)],
              "nics": [vcenter_pb2.VirtualNicSpec(network="VM Network")], **changes}
    return vcenter_pb2.CreateVmRequest(name=name, **fields)


def create(client, name: str, **changes) -> common_pb2.Task:
    return wait_task(client, client.api.CreateVm(create_request(name, **changes)))


def paths_of(estate, vcenter: str, name: str) -> list[str]:
    """Where vCenter `vcenter` keeps the disk files of VM `name`."""
    vc = estate.vcenters[vcenter].vcenter
    return vc.lifecycle.disk_paths(vc.state.find(Vm, name=name))


def host_vm_names(estate, host: str, vcenter: str) -> set[str]:
    channel = connect_host(estate.hosts[host].address, estate.credential("vsphere.local", "vcenter", vcenter), host)
    try:
        return {v.name for v in host_agent_pb2_grpc.HostAgentStub(channel).ListVms(host_agent_pb2.ListHostVmsRequest()).vms}
    finally:
        channel.close()


# -- the whole life of a VM, from a client ------------------------------------------------------------


def test_create_power_on_move_required_snapshot_power_off_destroy(estate, vc_a, vc_b):
    task = create(vc_a, "life-1", migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED,
                  workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=1, working_set_mb=4))
    assert task.state == OK, task.error
    assert task.description_id == "Folder.createVm" and task.created.name == "life-1"
    vm = vc_a.api.GetVm(common_pb2.ObjectRef(moid=task.created.moid))
    assert vm.power_state == common_pb2.POWER_STATE_POWERED_OFF
    assert vm.migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_REQUIRED
    assert [d.capacity_mb for d in vm.disks] == [8] and len(vm.nics) == 1 and vm.nics[0].mac_address.startswith("00:50:56:")
    assert "life-1" in host_vm_names(estate, "a70", "vc-a")
    created = [e for e in vc_a.api.QueryEvents(vcenter_pb2.EventFilter(vm="life-1")).events if e.type == "VmCreatedEvent"]
    assert len(created) == 1 and created[0].message == "Created virtual machine life-1 on a70 in dc-a"

    assert wait_task(vc_a, vc_a.api.PowerOnVm(vm_ref("life-1"))).state == OK
    moved = to_vc_b(estate, vc_a, "life-1")
    assert moved.state == OK, moved.error
    assert moved.migration.encrypted and moved.migration.hot
    assert "life-1" not in vm_names(vc_a)
    here = vc_b.api.GetVm(vm_ref("life-1"))
    assert [n.mac_address for n in here.nics] == [n.mac_address for n in vm.nics]

    snap = wait_task(vc_b, vc_b.api.CreateSnapshot(vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("life-1"), name="before",
                                                                                       description="first")))
    assert snap.state == OK and snap.created.name == "before" and snap.created.moid.startswith("snapshot-")
    assert vc_b.api.GetVm(vm_ref("life-1")).has_snapshots

    assert wait_task(vc_b, vc_b.api.PowerOffVm(vm_ref("life-1"))).state == OK
    files = paths_of(estate, "vc-b", "life-1")
    assert files and all(os.path.exists(p) for p in files)
    gone = wait_task(vc_b, vc_b.api.DestroyVm(vm_ref("life-1")))
    assert gone.state == OK, gone.error
    assert "life-1" not in vm_names(vc_b)
    assert not any(os.path.exists(p) for p in files)
    assert "life-1" not in host_vm_names(estate, "b70", "vc-b")
    removed = [e for e in vc_b.api.QueryEvents(vcenter_pb2.EventFilter(types=["VmRemovedEvent"])).events]
    assert removed[-1].vm_name == "life-1" and removed[-1].message == "Removed life-1 on b70 from dc-b"


def test_a_cluster_places_the_vm_on_a_connected_host_with_the_memory_free(vc_a):
    task = create(vc_a, "placed", host="", cluster="cluster-a")
    assert task.state == OK, task.error
    host = vc_a.api.GetHost(common_pb2.ObjectRef(moid=vc_a.api.GetVm(vm_ref("placed")).host))
    assert host.name in {"a70", "a67", "a-slow"}
    assert task_fault(create(vc_a, "too-big", host="", cluster="cluster-a", memory_mb=1 << 22)).message == (
        "no connected host of cluster-a that mounts ds-a has 4194304 MB free")


# -- MAC addresses (row X4) ----------------------------------------------------------------------------


def test_a_new_vm_gets_fresh_macs_never_blocked_ones(estate, vc_a):
    leaving = [n.mac_address for n in vc_a.api.GetVm(vm_ref("disabled")).nics]
    assert to_vc_b(estate, vc_a, "disabled").state == OK
    blocked = set(vc_a.api.ListBlockedMacs(vcenter_pb2.ListBlockedMacsRequest()).mac_addresses)
    assert set(leaving) <= blocked
    in_use = {n.mac_address for v in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms for n in v.nics}
    nics = [vcenter_pb2.VirtualNicSpec(network="VM Network")] * 3
    task = create(vc_a, "fresh-macs", nics=nics)
    assert task.state == OK, task.error
    macs = [n.mac_address for n in vc_a.api.GetVm(vm_ref("fresh-macs")).nics]
    assert len(set(macs)) == 3
    assert not set(macs) & blocked and not set(macs) & in_use


def test_the_mac_pool_counter_survives_a_restart(estate, vc_a):
    before = {n.mac_address for n in vc_a.api.GetVm(vm_ref("opportunistic")).nics}
    estate.restart_vcenter("vc-a")
    client = client_of(estate, "vc-a")
    try:
        assert create(client, "after-restart").state == OK
        every = [n.mac_address for v in client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms for n in v.nics]
        assert len(every) == len(set(every)) and before <= set(every)
    finally:
        client.close()


# -- refusals -----------------------------------------------------------------------------------------------


def test_a_name_already_used_in_the_datacenter_is_refused(vc_a):
    fault = task_fault(create(vc_a, "opportunistic"))
    assert isinstance(fault, DuplicateName)
    assert fault.message == "a VM named 'opportunistic' already exists in dc-a"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"host": "nowhere"}, "vc-a has no host named 'nowhere'"),
    ({"host": "", "cluster": "nowhere"}, "vc-a has no cluster named 'nowhere'"),
])
def test_an_unknown_host_or_cluster_is_refused_at_once(vc_a, changes, expected):
    code, fault = call_fault(vc_a.api.CreateVm, create_request("nope", **changes))
    assert code == grpc.StatusCode.NOT_FOUND and isinstance(fault, NotFound)
    assert fault.message == expected


@pytest.mark.parametrize(("changes", "expected"), [
    ({"datastore": "nowhere"}, "vc-a has no datastore 'nowhere' in dc-a"),
    ({"disks": [vcenter_pb2.VirtualDiskSpec(capacity_mb=8, datastore="ds-b")]}, "vc-a has no datastore 'ds-b' in dc-a"),
    ({"nics": [vcenter_pb2.VirtualNicSpec(network="Storage")]}, "vc-a has no network 'Storage' in dc-a"),
])
def test_an_unknown_datastore_or_network_fails_the_task(vc_a, changes, expected):
    fault = task_fault(create(vc_a, "nope", **changes))
    assert isinstance(fault, NotFound) and fault.message == expected


@pytest.mark.parametrize(("changes", "expected"), [
    ({"memory_mb": 0}, "memory_mb 0 is not between 1 and 25165824"),
    ({"num_cpu": 1000}, "num_cpu 1000 is not between 1 and 768"),
    ({"disks": [vcenter_pb2.VirtualDiskSpec(capacity_mb=0)]}, "disks[0].capacity_mb 0 is not between 1 and 65011712"),
    ({"datastore": ""}, "datastore is required"),
    ({"host": ""}, "give host or cluster"),
    ({"workload": inventory_pb2.GuestWorkload(working_set_mb=32)}, "working_set_mb 32 is not between 0 and 16"),
    ({"nics": [vcenter_pb2.VirtualNicSpec()]}, "nics[0].network is required"),
])
def test_bad_sizes_are_refused_at_once(vc_a, changes, expected):
    code, fault = call_fault(vc_a.api.CreateVm, create_request("bad", **changes))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    assert fault.message == expected


def test_an_empty_name_is_refused(vc_a):
    code, fault = call_fault(vc_a.api.CreateVm, create_request(""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "name is required"


def test_a_datastore_the_host_does_not_mount_is_refused():
    """The default estate: ds-a1-local is esx-a1's own, esx-a2 does not see it."""
    with start_estate(default_topology()) as other:
        client = client_of(other, "vc-a")
        try:
            request = create_request("nope", host="esx-a2", datastore="ds-a-shared", memory_mb=16,
                                     disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=8, datastore="ds-a1-local")])
            fault = task_fault(wait_task(client, client.api.CreateVm(request)))
            assert isinstance(fault, InvalidArgument) and fault.message == "host esx-a2 does not mount datastore ds-a1-local"
            assert fault.arguments == {"argument": "datastore"}
            assert "nope" not in vm_names(client)
        finally:
            client.close()


def test_destroy_refuses_a_powered_on_vm(vc_a):
    fault = task_fault(wait_task(vc_a, vc_a.api.DestroyVm(vm_ref("opportunistic"))))
    assert isinstance(fault, InvalidPowerState)
    assert fault.message == "opportunistic is poweredOn: power it off before destroying it"
    assert "opportunistic" in vm_names(vc_a)


def test_destroy_of_an_unknown_vm_is_refused(vc_a):
    code, fault = call_fault(vc_a.api.DestroyVm, vm_ref("nope"))
    assert code == grpc.StatusCode.NOT_FOUND and fault.message == "vc-a has no vm named 'nope'"


def test_destroy_removes_the_disk_files_and_the_snapshots(estate, vc_a):
    assert create(vc_a, "short-lived", disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=8),
                                              vcenter_pb2.VirtualDiskSpec(capacity_mb=4)]).state == OK
    assert wait_task(vc_a, vc_a.api.CreateSnapshot(vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("short-lived"), name="s"))).state == OK
    files = paths_of(estate, "vc-a", "short-lived")
    assert len(files) == 2 and all(os.path.getsize(p) == size << 20 for p, size in zip(files, (8, 4), strict=True))
    assert wait_task(vc_a, vc_a.api.DestroyVm(vm_ref("short-lived"))).state == OK
    assert not any(os.path.exists(p) for p in files)
    assert not os.path.exists(os.path.dirname(files[0]))
    code, _ = call_fault(vc_a.api.ListSnapshots, vm_ref("short-lived"))
    assert code == grpc.StatusCode.NOT_FOUND
    # and the name is free again
    assert create(vc_a, "short-lived").state == OK


# -- snapshots --------------------------------------------------------------------------------------------


def snapshots(client, vm: str) -> list[inventory_pb2.VirtualMachineSnapshot]:
    return list(client.api.ListSnapshots(vm_ref(vm)).snapshots)


def test_snapshots_are_listed_removed_and_survive_a_restart(estate):
    client = client_of(estate, "vc-a")
    try:
        for name in ("one", "two"):
            task = wait_task(client, client.api.CreateSnapshot(
                vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("required"), name=name, description=f"the {name}")))
            assert task.state == OK and task.description_id == "VirtualMachine.createSnapshot"
        listed = snapshots(client, "required")
        assert [(s.name, s.description) for s in listed] == [("one", "the one"), ("two", "the two")]
        assert all(s.create_time.seconds > 0 for s in listed) and len({s.id for s in listed}) == 2
    finally:
        client.close()
    estate.restart_vcenter("vc-a")
    client = client_of(estate, "vc-a")
    try:
        assert [s.id for s in snapshots(client, "required")] == [s.id for s in listed]
        assert client.api.GetVm(vm_ref("required")).has_snapshots
        removed = wait_task(client, client.api.RemoveSnapshot(vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref("required"),
                                                                                                 snapshot=listed[0].id)))
        assert removed.state == OK and removed.description_id == "VirtualMachine.removeSnapshot"
        removed = wait_task(client, client.api.RemoveSnapshot(vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref("required"),
                                                                                                 snapshot="two")))
        assert removed.state == OK
        assert snapshots(client, "required") == [] and not client.api.GetVm(vm_ref("required")).has_snapshots
    finally:
        client.close()


def test_removing_an_unknown_or_ambiguous_snapshot_fails(vc_a):
    for _ in range(2):
        assert wait_task(vc_a, vc_a.api.CreateSnapshot(vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("twin"), name="same"))).state == OK
    fault = task_fault(wait_task(vc_a, vc_a.api.RemoveSnapshot(vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref("twin"), snapshot="nope"))))
    assert isinstance(fault, NotFound) and fault.message == "twin has no snapshot 'nope'"
    fault = task_fault(wait_task(vc_a, vc_a.api.RemoveSnapshot(vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref("twin"), snapshot="same"))))
    assert isinstance(fault, InvalidArgument)
    assert fault.message.startswith("twin has 2 snapshots named 'same': name one by its id (snapshot-")
    assert len(snapshots(vc_a, "twin")) == 2


def test_a_snapshot_needs_a_name(vc_a):
    code, fault = call_fault(vc_a.api.CreateSnapshot, vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("twin")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "name is required"


def test_snapshots_travel_with_the_vm_to_another_vcenter(estate, vc_a, vc_b):
    assert wait_task(vc_a, vc_a.api.CreateSnapshot(vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("off-required"), name="kept"))).state == OK
    moved = relocate(vc_a, "off-required", host="b70", datastore="ds-b", pool="cluster-b", service=locator_of(estate, "vc-b"))
    assert moved.state == OK, moved.error
    assert [s.name for s in snapshots(vc_b, "off-required")] == ["kept"]


# -- who may ------------------------------------------------------------------------------------------------


def test_a_read_only_user_may_list_snapshots_but_not_create_or_destroy(estate):
    auditor = client_of(estate, "vc-a", "auditor")
    try:
        assert auditor.api.ListSnapshots(vm_ref("twin")) is not None
        for call, request in ((auditor.api.CreateVm, create_request("sneaky")), (auditor.api.DestroyVm, vm_ref("twin")),
                              (auditor.api.CreateSnapshot, vcenter_pb2.CreateSnapshotRequest(vm=vm_ref("twin"), name="s")),
                              (auditor.api.RemoveSnapshot, vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref("twin"), snapshot="s"))):
            code, fault = call_fault(call, request)
            assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(fault, NoPermission)
            assert "user auditor (read-only) may not call" in fault.message and "it needs the admin role" in fault.message
    finally:
        auditor.close()


# -- concurrency and a host that is gone --------------------------------------------------------------------


def test_two_creations_of_one_name_at_once_make_one_vm(vc_a):
    tasks = [vc_a.api.CreateVm(create_request("racing")) for _ in range(2)]
    ended = [wait_task(vc_a, t) for t in tasks]
    assert sorted(t.state for t in ended) == [OK, common_pb2.TASK_STATE_ERROR]
    assert isinstance(task_fault(next(t for t in ended if t.state != OK)), DuplicateName)
    assert [v.name for v in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms].count("racing") == 1


def test_creations_at_once_get_distinct_macs(vc_a):
    tasks = [vc_a.api.CreateVm(create_request(f"parallel-{i}", nics=[vcenter_pb2.VirtualNicSpec(network="VM Network")] * 2))
             for i in range(4)]
    assert all(wait_task(vc_a, t).state == OK for t in tasks)
    every = [n.mac_address for v in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms for n in v.nics]
    assert len(every) == len(set(every))


def test_a_host_that_does_not_answer_fails_the_creation_and_leaves_nothing(estate):
    client = client_of(estate, "vc-a")
    folder = estate.vcenters["vc-a"].vcenter.datastores.folder("ds-a") / "orphan"
    estate.hosts["a-slow"].crash()
    try:
        fault = task_fault(create(client, "orphan", host="a-slow"))
        assert fault.name == "HostNotConnected" and fault.message.startswith("host a-slow does not answer")
        assert "orphan" not in vm_names(client) and not folder.exists()
    finally:
        estate.restart_host("a-slow")
        client.close()

"""Row X5: each vCenter keeps a realtime performance history of the VMs that run (QueryPerf). A move
inside one vCenter keeps it; a move to another vCenter does not carry it: the destination has samples
only from the VM's arrival on, and the source's samples stay behind under the VM's old moid."""

from __future__ import annotations

import time

import grpc
import pytest
from estate_helpers import call_fault, client_of, wait_task
from migration_estate import locator_of, migration_estate, relocate, to_vc_b

from linkedmode.client import Client, connect_host
from linkedmode.model.faults import InvalidArgument, NotFound
from linkedmode.v1 import common_pb2, host_agent_pb2, host_agent_pb2_grpc, vcenter_pb2

INTERVAL = 0.1


@pytest.fixture
def estate():
    with migration_estate(vcenter_timeouts={"perf_interval": INTERVAL}) as running:
        yield running


def query(client, name: str = "", moid: str = "", max_sample: int = 0) -> vcenter_pb2.QueryPerfResponse:
    return client.api.QueryPerf(vcenter_pb2.QueryPerfRequest(vm=common_pb2.ObjectRef(name=name, moid=moid), max_sample=max_sample))


def wait_samples(client, count: int, name: str = "", moid: str = "", timeout: float = 20.0,
                 newest_after: float = 0.0) -> vcenter_pb2.QueryPerfResponse:
    """At least `count` samples of the VM, the newest taken after `newest_after` (seconds since the epoch)."""
    deadline = time.monotonic() + timeout
    while len((found := query(client, name, moid)).samples) < count or found.samples[-1].time <= newest_after:
        assert time.monotonic() < deadline, f"no {count} samples of {name or moid}, the newest after {newest_after}, within {timeout} s"
        time.sleep(INTERVAL)
    return found


def seconds(stamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def test_a_running_vm_is_sampled_every_interval_and_a_powered_off_one_is_not(estate):
    vc_a = client_of(estate, "vc-a")
    found = wait_samples(vc_a, 3, "opportunistic")
    vm = vc_a.api.GetVm(common_pb2.ObjectRef(name="opportunistic"))
    assert (found.vm, found.instance_uuid, found.interval_seconds, found.departed) == (vm.moid, vm.instance_uuid, INTERVAL, False)
    times = [s.time for s in found.samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(abs(s.time - time.time()) < 60 for s in found.samples)
    # its guest writes 2 MB/s over a 4 MB working set: memory it backs, and CPU time of its vCPU
    assert all(0 < s.mem_consumed_kb <= 16 * 1024 for s in found.samples)
    assert all(0 <= s.cpu_usage_percent <= 100 for s in found.samples)
    assert any(s.cpu_usage_percent > 0 for s in found.samples)
    assert query(vc_a, "off-opportunistic").samples == []
    newest = query(vc_a, "opportunistic", max_sample=2)
    assert len(newest.samples) == 2 and newest.samples[-1].time >= found.samples[-1].time


def test_the_vms_of_one_host_are_sampled_together_and_another_hosts_at_other_moments(estate):
    vc_a = client_of(estate, "vc-a")
    on_a70 = [{s.time for s in wait_samples(vc_a, 4, name).samples} for name in ("opportunistic", "disabled")]
    on_slow = [{s.time for s in wait_samples(vc_a, 4, name).samples} for name in ("busy-1", "busy-2")]
    # a sample is dated when its host was asked: one host's VMs share their times...
    assert len(on_a70[0] & on_a70[1]) >= 3 and len(on_slow[0] & on_slow[1]) >= 3
    # ...and vc-a asks its hosts one at a time, so a70's and a-slow's VMs share none
    assert not (on_a70[0] | on_a70[1]) & (on_slow[0] | on_slow[1])


def test_a_move_to_another_vcenter_leaves_the_history_behind(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    before = wait_samples(vc_a, 3, "opportunistic")
    task = to_vc_b(estate, vc_a, "opportunistic")
    assert task.state == common_pb2.TASK_STATE_SUCCESS
    moved = seconds(task.complete_time)
    # the destination: its own moid (each vCenter numbers its objects), samples only from the arrival on
    arrived = wait_samples(vc_b, 2, "opportunistic")
    assert arrived.vm == task.migration.vm and arrived.instance_uuid == before.instance_uuid
    assert not arrived.departed
    assert all(s.time > seconds(task.start_time) for s in arrived.samples)
    assert min(s.time for s in arrived.samples) > max(s.time for s in before.samples)
    # the source: what it sampled stayed there, by the old moid, and grows no more
    left = query(vc_a, moid=before.vm)
    assert left.departed and left.instance_uuid == before.instance_uuid
    assert [s.time for s in left.samples[:len(before.samples)]] == [s.time for s in before.samples]
    assert all(s.time <= moved for s in left.samples)
    time.sleep(5 * INTERVAL)
    assert len(query(vc_a, moid=before.vm).samples) == len(left.samples)
    code, fault = call_fault(query, vc_a, "opportunistic")    # by name it is no VM of vc-a any more
    assert code == grpc.StatusCode.NOT_FOUND and fault.message == "vc-a has no vm named 'opportunistic'"


def test_a_move_inside_one_vcenter_keeps_the_history(estate):
    vc_a = client_of(estate, "vc-a")
    before = wait_samples(vc_a, 3, "opportunistic")
    task = relocate(vc_a, "opportunistic", host="a67")
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.migration.vm == before.vm
    # sampled on: a move takes a few sampling intervals here, so how many samples it holds says nothing
    after = wait_samples(vc_a, len(before.samples) + 3, "opportunistic", newest_after=seconds(task.complete_time))
    assert [s.time for s in after.samples[:len(before.samples)]] == [s.time for s in before.samples]
    assert not after.departed


def test_a_vm_powered_off_keeps_its_samples_and_gets_no_new_ones(estate):
    vc_a = client_of(estate, "vc-a")
    wait_samples(vc_a, 2, "disabled")
    assert wait_task(vc_a, vc_a.api.PowerOffVm(common_pb2.ObjectRef(name="disabled"))).state == common_pb2.TASK_STATE_SUCCESS
    held = len(query(vc_a, "disabled").samples)
    time.sleep(5 * INTERVAL)
    assert 2 <= len(query(vc_a, "disabled").samples) <= held + 1    # a round under way when it stopped, at most


def test_bad_queries_say_what_is_wrong(estate):
    vc_a = client_of(estate, "vc-a")
    code, fault = call_fault(query, vc_a, "no-such-vm")
    assert code == grpc.StatusCode.NOT_FOUND and isinstance(fault, NotFound)
    assert fault.message == "vc-a has no vm named 'no-such-vm'"
    code, fault = call_fault(query, vc_a, moid="vm-999")
    assert code == grpc.StatusCode.NOT_FOUND and fault.message == "vc-a has no vm 'vm-999'"
    code, fault = call_fault(query, vc_a)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "name a vm by moid or name"
    code, fault = call_fault(query, vc_a, "opportunistic", max_sample=-1)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    assert fault.message == "max_sample -1 is not between 0 and 180"


def test_a_vm_that_comes_back_starts_a_new_history_and_the_old_one_stays_apart(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    before = wait_samples(vc_a, 2, "opportunistic")
    assert to_vc_b(estate, vc_a, "opportunistic").state == common_pb2.TASK_STATE_SUCCESS
    spec = vcenter_pb2.RelocateSpec(host="a70", datastore="ds-a", pool="cluster-a", service=locator_of(estate, "vc-a"))
    back = wait_task(vc_b, vc_b.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"), spec=spec)))
    assert back.state == common_pb2.TASK_STATE_SUCCESS and back.migration.vm != before.vm
    again = wait_samples(vc_a, 1, "opportunistic")
    assert again.vm == back.migration.vm and not again.departed
    assert all(s.time > seconds(back.start_time) for s in again.samples)
    assert query(vc_a, moid=before.vm).departed


def test_a_host_counts_only_the_vms_it_runs(estate):
    credential = estate.credential("vsphere.local", "vcenter", "vc-a")
    stub = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts["a70"].address, credential, "a70"))
    first = {vm.instance_uuid: vm for vm in stub.QueryVmStats(host_agent_pb2.QueryVmStatsRequest()).vms}
    vc_a = client_of(estate, "vc-a")
    running = {vm.instance_uuid: vm.name for vm in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest(host="a70")).vms
               if vm.power_state == common_pb2.POWER_STATE_POWERED_ON}
    assert set(first) == set(running) and "off-opportunistic" not in running.values()
    busy = next(uuid for uuid, name in running.items() if name == "opportunistic")
    time.sleep(0.3)
    later = {vm.instance_uuid: vm for vm in stub.QueryVmStats(host_agent_pb2.QueryVmStatsRequest()).vms}
    assert later[busy].uptime_seconds > first[busy].uptime_seconds
    assert later[busy].cpu_seconds >= first[busy].cpu_seconds and later[busy].cpu_seconds > 0   # its vCPU writes 2 MB/s
    assert 0 < later[busy].mem_consumed_kb <= 16 * 1024 and later[busy].num_cpu == 1


def test_the_client_reads_both_histories_and_the_announcements(estate):
    server = estate.vcenters["vc-a"]
    lm = Client({name: estate.vcenters[name].address for name in ("vc-a", "vc-b")},
                estate.credential(server.domain.name, "user", "administrator"))
    with lm:
        old = wait_samples(client_of(estate, "vc-a"), 2, "opportunistic").vm
        task = lm.relocate("opportunistic", "b70", to_vcenter="vc-b", datastore="ds-b", pool="cluster-b")
        assert lm.find_vm("opportunistic").vcenter == "vc-b"
        assert lm.perf("opportunistic").vm == task.migration.vm                       # where it is now
        assert lm.perf("opportunistic", vcenter="vc-a", moid=old).departed            # what stayed behind
        assert len(lm.perf("opportunistic", vcenter="vc-a", moid=old, max_sample=1).samples) == 1
        assert [a.migration_id for a in lm.announcements("b70")] == [task.migration.migration_id]
        with pytest.raises(NotFound, match="vc-a has no vm named 'opportunistic'"):
            lm.perf("opportunistic", vcenter="vc-a")

"""A vCenter that dies with a migration in flight settles it when it starts again, before and after
the commit; a switchover past max_switchover_seconds fails and the VM stays (rows V4, V5)."""

from __future__ import annotations

import sqlite3
import threading
import time

import grpc
import pytest
from estate_helpers import call_fault, client_of, fault_rule, task_fault, wait_task
from migration_estate import locator_of, migration_estate, to_vc_b, vm_names

from linkedmode.invariant import settled_invariant
from linkedmode.model.faults import InvalidPowerState, Timedout
from linkedmode.model.inventory import Host
from linkedmode.rpc.faults import fault_from_proto
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture
def estate(tmp_path):
    # a host without its vCenter's word gives up soon
    with migration_estate(tmp_path, vcenter_timeouts={"max_switchover": 1.5}) as running:
        yield running


def install(estate, vcenter: str, **rule) -> None:
    client_of(estate, vcenter).emulator.AddFaultRule(fault_rule(count=1, **rule))


def move_while_vc_a_dies(estate, step: str) -> None:
    """Moves `opportunistic` to vc-b with vc-a killed at `step`; the caller never hears the end."""
    install(estate, "vc-a", step=step, part="vc-a", action="kill")
    spec = vcenter_pb2.RelocateSpec(host="b70", datastore="ds-b", pool="cluster-b", service=locator_of(estate, "vc-b"))
    client_of(estate, "vc-a").api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"), spec=spec))
    wait_until_dead(estate, "vc-a")


def journal_rows(estate, vcenter: str) -> list[tuple]:
    with sqlite3.connect(estate.state_dir / "vcenters" / f"{vcenter}.db") as db:
        return db.execute("SELECT kind, state, data FROM journal").fetchall()


def wait_until_dead(estate, vcenter: str) -> None:
    deadline = time.monotonic() + 10
    while estate.vcenters[vcenter].running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not estate.vcenters[vcenter].running


def test_a_source_vcenter_restarted_before_the_commit_leaves_the_vm_on_the_source(estate):
    move_while_vc_a_dies(estate, "commit")
    assert [(kind, state) for kind, state, _ in journal_rows(estate, "vc-a")] == [("outgoing", "committing")]
    assert b"key" not in b"".join(data.encode() for _, _, data in journal_rows(estate, "vc-a"))
    settled = estate.restart_vcenter("vc-a").recover()
    assert settled == {}   # the restart settled it already; nothing left for a second pass
    assert journal_rows(estate, "vc-a") == [] and journal_rows(estate, "vc-b") == []
    assert "opportunistic" in vm_names(client_of(estate, "vc-a"))
    assert "opportunistic" not in vm_names(client_of(estate, "vc-b"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []
    types = [e.type for e in client_of(estate, "vc-a").api.QueryEvents(vcenter_pb2.EventFilter(vm="opportunistic")).events]
    assert types[-1] == "VmFailedMigrateEvent"


def test_a_source_vcenter_restarted_after_the_commit_finishes_the_move(estate):
    move_while_vc_a_dies(estate, "source_cleanup")
    assert [(kind, state) for kind, state, _ in journal_rows(estate, "vc-a")] == [("outgoing", "switched")]
    estate.restart_vcenter("vc-a")
    assert journal_rows(estate, "vc-a") == [] and journal_rows(estate, "vc-b") == []
    assert "opportunistic" not in vm_names(client_of(estate, "vc-a"))
    assert "opportunistic" in vm_names(client_of(estate, "vc-b"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_a_destination_vcenter_restarted_with_an_arrival_in_flight_settles_it(estate):
    """vc-b dies after the commit, as it takes the VM in; the move ended at host level anyway, and vc-b,
    back, takes the VM in; vc-a, which could not settle while vc-b was down, settles then."""
    install(estate, "vc-b", step="resume", part="vc-b", action="kill")
    vc_a = client_of(estate, "vc-a")
    request_done = {}
    mover = threading.Thread(target=lambda: request_done.setdefault("task", to_vc_b(estate, vc_a, "opportunistic")))
    mover.start()
    wait_until_dead(estate, "vc-b")
    mover.join(20)
    task = request_done["task"]
    assert task.state == common_pb2.TASK_STATE_ERROR and "could not be settled yet" in task.error.message
    assert [(kind, state) for kind, state, _ in journal_rows(estate, "vc-a")] == [("outgoing", "switched")]
    estate.restart_vcenter("vc-b")
    estate.restart_vcenter("vc-a")   # settles whatever it could not while vc-b was down
    assert journal_rows(estate, "vc-a") == [] and journal_rows(estate, "vc-b") == []
    assert "opportunistic" in vm_names(client_of(estate, "vc-b"))
    assert "opportunistic" not in vm_names(client_of(estate, "vc-a"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_a_switchover_longer_than_the_limit_fails_and_the_vm_stays(estate):
    install(estate, "vc-a", step="final_pages", part="a70", action="delay", delay_seconds=2.0)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_ERROR
    fault = fault_from_proto(task.error)
    assert isinstance(fault, Timedout) and "max_switchover_seconds (1.5 s)" in fault.message
    assert "opportunistic" in vm_names(client_of(estate, "vc-a"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []
    # and the VM can still move afterwards
    assert to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic").state == common_pb2.TASK_STATE_SUCCESS


def test_a_vcenter_killed_mid_vmotion_inside_itself_loses_nothing(estate):
    """vc-a is source and destination; it dies at the commit. The hosts give up on their own, and
    vc-a, back, finds the VM where it was."""
    install(estate, "vc-a", step="commit", part="vc-a", action="kill")
    vc_a = client_of(estate, "vc-a")
    vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"),
                                                      spec=vcenter_pb2.RelocateSpec(host="a67")))
    wait_until_dead(estate, "vc-a")
    estate.restart_vcenter("vc-a")
    vm = client_of(estate, "vc-a").api.GetVm(common_pb2.ObjectRef(name="opportunistic"))
    hosts = {h.moid: h.name for h in estate.vcenters["vc-a"].vcenter.state.all(Host)}
    assert hosts[vm.host] == "a70"
    assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_a_destination_host_that_dies_after_the_switchover_gets_the_vm_back_when_it_returns(estate):
    """END went through, then b70 died before it ran the VM: the VM is vc-b's now. When b70 is back,
    the move is settled by starting the VM there (what vSphere HA does), not by losing it."""
    install(estate, "vc-b", step="resume", part="b70", action="kill")
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_ERROR
    assert [(kind, state) for kind, state, _ in journal_rows(estate, "vc-a")] == [("outgoing", "switched")]
    estate.restart_host("b70")
    estate.restart_vcenter("vc-a")   # its journal settles the move now that b70 answers
    assert journal_rows(estate, "vc-a") == [] and journal_rows(estate, "vc-b") == []
    assert "opportunistic" in vm_names(client_of(estate, "vc-b"))
    assert "opportunistic" not in vm_names(client_of(estate, "vc-a"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_a_move_left_unsettled_is_settled_once_the_other_side_is_back(tmp_path):
    """vc-b died as it took the VM in; vc-a keeps the row and settles it by itself when vc-b returns
    (every `timeouts.settle_interval`, short here)."""
    with migration_estate(tmp_path, vcenter_timeouts={"settle_interval": 0.2}) as estate:
        install(estate, "vc-b", step="resume", part="vc-b", action="kill")
        task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
        assert task.state == common_pb2.TASK_STATE_ERROR and "could not be settled yet" in task.error.message
        estate.restart_vcenter("vc-b")
        deadline = time.monotonic() + 10
        while journal_rows(estate, "vc-a") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journal_rows(estate, "vc-a") == [] and journal_rows(estate, "vc-b") == []
        assert "opportunistic" in vm_names(client_of(estate, "vc-b"))
        assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_a_vms_own_switchover_limit_overrides_its_vcenters(tmp_path):
    """Row V4: vmotion.maxSwitchoverSeconds in a VM's advanced settings is its limit; others keep the vCenter's."""
    with migration_estate(tmp_path) as estate:      # the vCenters' default: 100 s
        vc_a = client_of(estate, "vc-a")
        ref = common_pb2.ObjectRef(name="opportunistic")
        assert wait_task(vc_a, vc_a.api.PowerOffVm(ref)).state == common_pb2.TASK_STATE_SUCCESS
        set_limit = vcenter_pb2.ReconfigVmRequest(vm=ref, spec=vcenter_pb2.VirtualMachineConfigSpec(
            extra_config={"vmotion.maxSwitchoverSeconds": "1.5"}))
        assert wait_task(vc_a, vc_a.api.ReconfigVm(set_limit)).state == common_pb2.TASK_STATE_SUCCESS
        assert vc_a.api.GetVm(ref).extra_config["vmotion.maxSwitchoverSeconds"] == "1.5"
        assert wait_task(vc_a, vc_a.api.PowerOnVm(ref)).state == common_pb2.TASK_STATE_SUCCESS
        vc_a.emulator.AddFaultRule(fault_rule(step="final_pages", part="a70", action="delay", delay_seconds=2.0, count=2))
        task = to_vc_b(estate, vc_a, "opportunistic")
        fault = task_fault(task)
        assert isinstance(fault, Timedout) and "max_switchover_seconds (1.5 s)" in fault.message
        assert "opportunistic" in vm_names(vc_a)
        other = to_vc_b(estate, vc_a, "disabled")     # the same stall, the vCenter's 100 s: it goes through
        assert other.state == common_pb2.TASK_STATE_SUCCESS, other.error


@pytest.mark.parametrize("value,problem", [("soon", "'soon' is not a number of seconds"), ("0", "'0' is not a number of seconds"),
                                           ("9999", "'9999' is not a number of seconds")])
def test_a_bad_switchover_limit_is_refused_with_its_field(estate, value, problem):
    vc_a = client_of(estate, "vc-a")
    request = vcenter_pb2.ReconfigVmRequest(vm=common_pb2.ObjectRef(name="off-opportunistic"), spec=vcenter_pb2.VirtualMachineConfigSpec(
        extra_config={"vmotion.maxSwitchoverSeconds": value}))
    code, fault = call_fault(vc_a.api.ReconfigVm, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and problem in fault.message
    assert fault.arguments["argument"] == "spec.extra_config.vmotion.maxSwitchoverSeconds"


def test_advanced_settings_change_only_while_powered_off(estate):
    vc_a = client_of(estate, "vc-a")
    task = wait_task(vc_a, vc_a.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(
        vm=common_pb2.ObjectRef(name="opportunistic"),
        spec=vcenter_pb2.VirtualMachineConfigSpec(extra_config={"vmotion.maxSwitchoverSeconds": "30"}))))
    assert isinstance(task_fault(task), InvalidPowerState)

"""Row V9: a task goes queued -> running -> success or error; an operation that conflicts with a task the
VM already runs fails at once with TaskInProgress; a relocate stops being cancelable at its point of no
return, and a cancel after it is refused rather than silently ignored."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from estate_helpers import call_fault, client_of, fault_rule, task_fault, wait_task
from migration_estate import locator_of, migration_estate, vm_names

from linkedmode.model.faults import InvalidState, RequestCanceled, TaskInProgress
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


def slow(client, step: str, part: str, seconds: float) -> None:
    client.emulator.AddFaultRule(fault_rule(step, "delay", part=part, vm="opportunistic", delay_seconds=seconds))


def start_move(estate, client) -> common_pb2.Task:
    spec = vcenter_pb2.RelocateSpec(host="b70", datastore="ds-b", pool="cluster-b", service=locator_of(estate, "vc-b"))
    return client.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"), spec=spec))


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_operations_on_a_vm_with_a_running_task_fail_at_once(estate):
    vc_a = client_of(estate, "vc-a")
    slow(vc_a, "spec_exchange", "vc-a", 2.0)
    moving = start_move(estate, vc_a)
    ref = common_pb2.ObjectRef(name="opportunistic")
    conflicting = [
        lambda: vc_a.api.PowerOffVm(ref),
        lambda: vc_a.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(vm=ref, spec=vcenter_pb2.VirtualMachineConfigSpec(
            migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED))),
        lambda: start_move(estate, vc_a),
    ]
    for call in conflicting:
        started = time.monotonic()
        code, fault = call_fault(call)
        assert time.monotonic() - started < 1.0                 # at once, not after the move
        assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(fault, TaskInProgress)
        assert fault.message.startswith(f"opportunistic is busy with VirtualMachine.relocate ({moving.key}, ")
    other = wait_task(vc_a, vc_a.api.PowerOffVm(common_pb2.ObjectRef(name="disabled")))   # another VM is not busy
    assert other.state == common_pb2.TASK_STATE_SUCCESS
    assert wait_task(vc_a, moving).state == common_pb2.TASK_STATE_SUCCESS
    assert "opportunistic" in vm_names(client_of(estate, "vc-b"))


def test_a_cancel_before_the_point_of_no_return_leaves_the_vm_on_the_source(estate):
    vc_a = client_of(estate, "vc-a")
    slow(vc_a, "spec_exchange", "vc-a", 1.0)
    moving = start_move(estate, vc_a)
    assert vc_a.api.CancelTask(vcenter_pb2.GetTaskRequest(key=moving.key)).cancelable
    done = wait_task(vc_a, moving)
    assert done.state == common_pb2.TASK_STATE_ERROR and done.cancelled
    assert isinstance(task_fault(done), RequestCanceled)
    assert "opportunistic" in vm_names(vc_a) and "opportunistic" not in vm_names(client_of(estate, "vc-b"))


def test_past_the_point_of_no_return_a_cancel_is_refused_and_the_move_ends(estate):
    vc_a = client_of(estate, "vc-a")
    slow(client_of(estate, "vc-b"), "commit", "vc-b", 1.5)   # the destination takes its time to commit
    moving = start_move(estate, vc_a)
    states: list[int] = []

    def follow() -> None:
        for task in vc_a.api.WaitTask(vcenter_pb2.GetTaskRequest(key=moving.key), timeout=60):
            if not states or states[-1] != task.state:
                states.append(task.state)
    watcher = threading.Thread(target=follow)
    watcher.start()
    wait_until(lambda: not vc_a.api.GetTask(vcenter_pb2.GetTaskRequest(key=moving.key)).cancelable)
    code, fault = call_fault(vc_a.api.CancelTask, vcenter_pb2.GetTaskRequest(key=moving.key))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(fault, InvalidState)
    assert fault.message == f"task {moving.key} (VirtualMachine.relocate) cannot be cancelled any more: it passed its point of no return"
    done = wait_task(vc_a, moving)
    watcher.join(10)
    assert done.state == common_pb2.TASK_STATE_SUCCESS and not done.cancelled
    assert "opportunistic" in vm_names(client_of(estate, "vc-b"))
    assert states == [common_pb2.TASK_STATE_QUEUED, common_pb2.TASK_STATE_RUNNING, common_pb2.TASK_STATE_SUCCESS][-len(states):]
    assert common_pb2.TASK_STATE_QUEUED not in states[1:]

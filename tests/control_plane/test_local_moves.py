"""Moves inside one vCenter, end to end through the control plane with fake hosts: the source's state
machine drives this vCenter's own arrivals (LocalDestination) instead of a scripted peer."""

from __future__ import annotations

import os

from control_plane_fakes import FakeParts, wait_until

from linkedmode.migration.source import Migrations
from linkedmode.migration.spec import MigrationTarget, RelocateRequest
from linkedmode.model import events as ev
from linkedmode.model.fault_rules import FaultRule
from linkedmode.model.faults import RequestCanceled, SystemError
from linkedmode.model.inventory import Datastore, Vm
from linkedmode.model.migration import MigrationResult, MigrationStep
from linkedmode.model.settings import PowerState
from linkedmode.model.tasks import Task, TaskState


def relocate(parts: FakeParts, migrations: Migrations, target: MigrationTarget, vm: str = "vm-hot") -> Task:
    task = migrations.relocate(parts.vm(vm), RelocateRequest(target), "administrator")
    wait_until(lambda: parts.state.task(task.key).state.done, what="the task's end")
    return parts.state.task(task.key)


def test_a_hot_move_to_another_host(parts: FakeParts, migrations: Migrations) -> None:
    parts.hosts.expect_key = True
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations, MigrationTarget("esx-2"))

    assert task.state == TaskState.SUCCESS, task.error
    assert parts.state.task_states[task.key] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCESS]
    assert isinstance(task.result, MigrationResult)
    assert task.result.vm == vm.moid and task.result.vcenter == "vc-a" and task.result.encrypted
    moved = parts.state.get(vm.moid, Vm)
    assert moved.host == parts.host("esx-2").moid and moved.disks == vm.disks      # a shared datastore: no disk moves
    assert parts.agent("esx-2").running_vms[vm.instance_uuid] == PowerState.POWERED_ON
    assert vm.instance_uuid not in parts.agent("esx-1").running_vms
    (spec,) = parts.agent("esx-1").specs.values()
    assert parts.agent("esx-2").specs == {spec.migration_id: spec}          # both hosts got the one spec, wiped now
    assert spec.secrets is not None and spec.secrets.wiped
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []
    assert parts.slots.in_use(parts.host("esx-1").moid) == 0 and parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert parts.slots.peak(parts.host("esx-2").moid) == 1
    assert parts.event_types(vm)[1:] == [ev.VM_BEING_HOT_MIGRATED, ev.VM_HOT_MIGRATING_WITH_ENCRYPTION, ev.VM_MIGRATED]
    assert parts.blocked == [] and os.path.exists(parts.disk_file(vm))
    assert parts.reaper.pending() == []


def test_a_datastore_only_move_copies_the_disk_on_its_host(parts: FakeParts, migrations: Migrations) -> None:
    vm = parts.vm("vm-hot")
    before = parts.disk_file(vm)
    task = relocate(parts, migrations, MigrationTarget("esx-1", "ds-other"))

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult)
    assert task.result.disks_moved == 1 and task.result.stream is None and not task.result.encrypted
    moved = parts.state.get(vm.moid, Vm)
    assert moved.host == vm.host and parts.state.get(moved.disks[0].datastore, Datastore).name == "ds-other"
    assert os.path.exists(parts.disk_file(moved)) and not os.path.exists(before)
    calls = parts.hosts.calls()
    assert list(calls) == ["esx-1"] and set(calls["esx-1"]) == {"about", "running"}   # nothing streams, no key anywhere
    assert parts.slots.in_use(vm.host) == 0
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []
    assert ev.VM_HOT_MIGRATING_WITH_ENCRYPTION not in parts.event_types(vm)


def test_a_vm_that_resumes_after_end_is_waited_for_on_the_destination_host(parts: FakeParts, migrations: Migrations) -> None:
    """END found the VM still starting on esx-2: the vCenter waits in the host's CompleteMigration (the
    host answers once its arrival ended), not by asking again and again."""
    parts.hosts.expect_key = True
    destination = parts.agent("esx-2")
    destination.resumes_late = lambda host, migration_id: host.resume(migration_id, vm.instance_uuid)
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations, MigrationTarget("esx-2"))

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult) and task.result.settled == ""
    assert destination.waits == [parts.timeouts.resume_wait]
    assert destination.called("running", "migrations", "complete") == ["running", "migrations", "complete"]
    assert parts.state.get(vm.moid, Vm).host == parts.host("esx-2").moid
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []


def test_a_vm_that_never_resumes_on_the_destination_host_is_started_there_by_settling(parts: FakeParts,
                                                                                       migrations: Migrations) -> None:
    """END went through but the arrival ended without the VM (the wait ran out): settling starts it there."""
    parts.hosts.expect_key = True
    destination = parts.agent("esx-2")
    destination.resumes_late = lambda host, migration_id: None
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations, MigrationTarget("esx-2"))

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult)
    assert task.result.settled == "moved; the end was confirmed by the destination after: vm-hot does not run on esx-2"
    assert destination.waits == [parts.timeouts.resume_wait]
    assert destination.called("register", "power_on") == ["register", "power_on"]
    assert destination.running_vms[vm.instance_uuid] == PowerState.POWERED_ON
    assert parts.state.get(vm.moid, Vm).host == parts.host("esx-2").moid
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []


def test_a_failure_at_the_destination_hosts_resume_is_settled(parts: FakeParts, migrations: Migrations) -> None:
    """END crossed: the injected fault at resume (this vCenter takes the VM in) is settled as moved."""
    parts.hosts.expect_key = True
    parts.faults.add(FaultRule(MigrationStep.RESUME, fault="SystemError"))
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations, MigrationTarget("esx-2"))

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult)
    assert task.result.settled.startswith("moved; the end was confirmed by the destination after: injected at resume")
    assert parts.state.get(vm.moid, Vm).host == parts.host("esx-2").moid
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0


def test_a_failure_before_the_commit_leaves_the_vm_on_its_host(parts: FakeParts, migrations: Migrations) -> None:
    parts.hosts.expect_key = True
    parts.faults.add(FaultRule(MigrationStep.COMMIT, fault="SystemError"))
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations, MigrationTarget("esx-2"))

    assert task.state == TaskState.ERROR and isinstance(task.error, SystemError)
    assert parts.state.get(vm.moid, Vm).host == vm.host
    assert parts.agent("esx-1").running_vms[vm.instance_uuid] == PowerState.POWERED_ON
    assert vm.instance_uuid not in parts.agent("esx-2").running_vms
    assert parts.agent("esx-2").called("abort") == ["abort"]
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []
    assert parts.slots.in_use(parts.host("esx-1").moid) == 0 and parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert parts.event_types(vm)[-1] == ev.VM_FAILED_MIGRATE


def test_a_move_cancelled_during_its_stream_is_undone(parts: FakeParts, migrations: Migrations) -> None:
    parts.hosts.expect_key = True
    vm = parts.vm("vm-hot")

    def cancel_once() -> None:
        (task,) = parts.state.tasks()
        if not task.cancel_requested:
            migrations.tasks.cancel(task.key)

    parts.agent("esx-1").during_stream = cancel_once
    task = migrations.relocate(vm, RelocateRequest(MigrationTarget("esx-2")), "administrator")
    wait_until(lambda: parts.state.task(task.key).state.done, what="the task's end")

    ended = parts.state.task(task.key)
    assert ended.state == TaskState.ERROR and ended.cancelled and isinstance(ended.error, RequestCanceled)
    assert parts.state.task_states[task.key] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.ERROR]
    assert parts.agent("esx-1").called("abort", "complete") == ["abort"]
    assert parts.agent("esx-2").called("abort") == ["abort"]
    assert parts.agent("esx-1").running_vms[vm.instance_uuid] == PowerState.POWERED_ON
    assert parts.state.get(vm.moid, Vm).host == vm.host
    assert parts.state.journal("outgoing") == [] and parts.state.journal("arrival") == []
    assert parts.slots.in_use(parts.host("esx-1").moid) == 0 and parts.slots.in_use(parts.host("esx-2").moid) == 0
    (spec,) = parts.agent("esx-1").specs.values()
    assert spec.secrets is not None and spec.secrets.wiped


def test_two_moves_that_cross_do_not_wait_on_each_other(parts: FakeParts, migrations: Migrations) -> None:
    """esx-1 -> esx-2 and esx-2 -> esx-1 while each host has one slot left (row V8): a move holds both
    slots or neither, so the two never deadlock; both end."""
    parts.hosts.expect_key = True
    for host in ("esx-1", "esx-2"):
        for _ in range(3):
            assert parts.slots.try_acquire(parts.host(host).moid, 4)
    one = migrations.relocate(parts.vm("vm-hot"), RelocateRequest(MigrationTarget("esx-2")), "administrator")
    two = migrations.relocate(parts.vm("vm-two"), RelocateRequest(MigrationTarget("esx-1")), "administrator")
    wait_until(lambda: parts.state.task(one.key).state.done and parts.state.task(two.key).state.done, timeout=10.0,
               what="both moves' end")

    for task in (one, two):
        assert parts.state.task(task.key).state == TaskState.SUCCESS, parts.state.task(task.key).error
        assert TaskState.QUEUED not in parts.state.task_states[task.key][1:]
    assert parts.state.get(one.entity, Vm).host == parts.host("esx-2").moid
    assert parts.state.get(two.entity, Vm).host == parts.host("esx-1").moid
    for host in ("esx-1", "esx-2"):
        assert parts.slots.in_use(parts.host(host).moid) == 3 and parts.slots.peak(parts.host(host).moid) == 4

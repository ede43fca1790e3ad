"""The source's state machine (SourceMigration through Migrations.relocate on a real TaskRunner), with
a scripted destination vCenter and scripted hosts: success, a failure at each step before the commit
(undone: the VM goes on at the source, row V5), a failure after it (settled by who runs the VM), and
the task's states (queued -> running -> done, never back: row V9)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from control_plane_fakes import FIGURES, MOID_THERE, FakeDestination, FakeParts, wait_until

from linkedmode.migration.page_stream import SwitchoverUnconfirmed
from linkedmode.migration.source import Migrations
from linkedmode.migration.spec import HostProgress, MigrationTarget, RelocateRequest
from linkedmode.model import events as ev
from linkedmode.model.fault_rules import FaultRule
from linkedmode.model.faults import Fault, HostCommunication, InvalidState, MigrationFault, RequestCanceled, SystemError
from linkedmode.model.inventory import Vm
from linkedmode.model.migration import MigrationPhase, MigrationResult, MigrationStep
from linkedmode.model.settings import PowerState
from linkedmode.model.tasks import Task, TaskState

TARGET = MigrationTarget("esx-b1", "ds-b", "cluster-b")
FAILED_STREAM = (HostProgress(0, MigrationPhase.PRECOPY, round=1, pages_left=1000),
                 HostProgress(0, MigrationPhase.FAILED, error=MigrationFault("the destination host closed the page stream")))


def relocate(parts: FakeParts, migrations: Migrations, vm: str = "vm-hot") -> Task:
    """Starts the move to the scripted destination and waits for the task's end."""
    task = migrations.relocate(parts.vm(vm), RelocateRequest(TARGET), "administrator")
    wait_until(lambda: parts.state.task(task.key).state.done, what="the task's end")
    return parts.state.task(task.key)


def queue_behind_a_busy_source_host(parts: FakeParts, migrations: Migrations) -> str:
    """Starts a move of vm-hot while esx-1 runs its 4 vMotions (1 GbE, row V8); returns its task once queued."""
    vm = parts.vm("vm-hot")
    for _ in range(4):
        assert parts.slots.try_acquire(vm.host, 4)
    task = migrations.relocate(vm, RelocateRequest(TARGET), "administrator")
    wait_until(lambda: "queued: esx-1 runs its maximum of vMotions" in parts.state.task_details.get(task.key, []),
               what="the queued task")
    return task.key


def source_spec_id(parts: FakeParts) -> int:
    (migration_id,) = parts.agent("esx-1").specs
    return migration_id


# -- success --------------------------------------------------------------------------------------


def test_an_encrypted_move_ends_with_the_vm_there_and_the_key_wiped(parts: FakeParts, destination: FakeDestination,
                                                                    migrations: Migrations) -> None:
    parts.hosts.expect_key = True
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.SUCCESS, task.error
    assert parts.state.task_states[task.key] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCESS]
    migration_id = source_spec_id(parts)
    assert isinstance(task.result, MigrationResult) and task.result.queued_ms >= 0
    assert replace(task.result, queued_ms=0.0) == MigrationResult(
        vm=MOID_THERE, vcenter="vc-b", host="esx-b1", mode_asked=vm.migrate_encryption, encrypted=True, fell_back=False,
        reason="both hosts support encrypted vMotion", hot=True, migration_id=migration_id, disks_moved=1, stream=FIGURES)
    assert destination.called() == ["check", "reserve", "prepare", "commit", "finish", "close"]
    assert ("finish", migration_id, False) in destination.calls
    assert parts.agent("esx-1").called() == ["prepare_source", "migrate", "complete", "complete", "running"]
    # the one spec both the destination and the source host got, wiped once the move ended
    spec = parts.agent("esx-1").specs[migration_id]
    assert destination.specs == [spec]
    assert spec.secrets is not None and spec.secrets.wiped
    # the VM left this vCenter (row X4): out of the inventory, its MACs blocked, its disk file removed
    assert parts.state.journal("outgoing") == []
    assert vm.moid not in {v.moid for v in parts.state.all(Vm)}
    assert parts.blocked == vm.mac_addresses
    assert not os.path.exists(parts.disk_file(vm))
    assert parts.event_types(vm)[1:] == [ev.VM_BEING_HOT_MIGRATED, ev.VM_HOT_MIGRATING_WITH_ENCRYPTION, ev.VM_MIGRATED]
    assert parts.slots.in_use(vm.host) == 0


def test_the_source_journals_its_row_before_the_destination_hears_of_the_spec(parts: FakeParts, destination: FakeDestination,
                                                                              migrations: Migrations,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A source that dies while the destination prepares leaves a row, so its recovery tells the
    destination to drop the arrival (it would otherwise wait for an answer until `arrival_expiry`)."""
    parts.hosts.expect_key = True
    seen: list[list[tuple[str, str]]] = []
    prepare = destination.prepare

    def prepare_seeing_the_journal(*args: Any, **kwargs: Any) -> str:
        seen.append([(e.kind, e.state) for e in parts.state.journal("outgoing")])
        return prepare(*args, **kwargs)

    monkeypatch.setattr(destination, "prepare", prepare_seeing_the_journal)
    task = relocate(parts, migrations)

    assert task.state == TaskState.SUCCESS, task.error
    assert seen == [[("outgoing", MigrationPhase.PREPARED.value)]]


def test_a_plaintext_move_sends_no_key_and_says_so(parts: FakeParts, destination: FakeDestination, migrations: Migrations) -> None:
    parts.hosts.expect_key = False
    vm = parts.vm("vm-disabled")
    task = relocate(parts, migrations, "vm-disabled")

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult)
    assert not task.result.encrypted and task.result.reason == "migrate_encryption is disabled"
    assert destination.specs[0].secrets is None
    assert ev.VM_HOT_MIGRATING_WITH_ENCRYPTION not in parts.event_types(vm)


def test_a_cold_move_streams_nothing(parts: FakeParts, destination: FakeDestination, migrations: Migrations) -> None:
    vm = parts.vm("vm-cold")
    task = relocate(parts, migrations, "vm-cold")

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult)
    assert not task.result.hot and task.result.stream is None
    assert destination.specs == []
    assert parts.agent("esx-1").called() == ["unregister", "complete", "running"]
    assert parts.event_types(vm)[1:] == [ev.VM_BEING_MIGRATED, ev.VM_MIGRATED]


# -- a failure before the commit: undone ----------------------------------------------------------


@dataclass(frozen=True)
class Breaks:
    """Where a move fails before its commit, and how the test makes it fail there."""

    step: str
    destination: dict[str, Fault] = field(default_factory=dict)      # destination method -> the fault it raises
    source_host: dict[str, Fault] = field(default_factory=dict)      # source host method -> the fault it raises
    stream: tuple[HostProgress, ...] = ()
    rule: FaultRule | None = None                                    # a fault rule of the source vCenter

    @property
    def fault(self) -> Fault | None:
        """The fault the task ends with (a rule's is made when it fires)."""
        scripted = [*self.destination.values(), *self.source_host.values()] + [p.error for p in self.stream if p.error]
        return scripted[0] if scripted else None


BEFORE_THE_COMMIT = [
    Breaks("spec exchange (rule)", rule=FaultRule(MigrationStep.SPEC_EXCHANGE, fault="SystemError")),
    Breaks("destination.prepare", destination={"prepare": HostCommunication("vc-b does not answer")}),
    Breaks("source host prepare", source_host={"prepare_source": HostCommunication("esx-1 does not answer")}),
    Breaks("stream FAILED", stream=FAILED_STREAM),
    Breaks("commit (rule)", rule=FaultRule(MigrationStep.COMMIT, fault="SystemError")),
    Breaks("destination.commit", destination={"commit": HostCommunication("vc-b does not answer")}),
]


@pytest.mark.parametrize("breaks", BEFORE_THE_COMMIT, ids=lambda b: b.step)
def test_a_failure_before_the_commit_leaves_the_vm_at_the_source(parts: FakeParts, destination: FakeDestination,
                                                                 migrations: Migrations, breaks: Breaks) -> None:
    parts.hosts.expect_key = True
    source_host = parts.agent("esx-1")
    for method, fault in breaks.destination.items():
        destination.script(method, fault)
    for method, fault in breaks.source_host.items():
        source_host.fail[method] = [fault]
    if breaks.stream:
        source_host.progress = breaks.stream
    if breaks.rule:
        parts.faults.add(breaks.rule)
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.ERROR
    assert parts.state.task_states[task.key] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.ERROR]
    if breaks.rule:
        assert isinstance(task.error, SystemError) and task.error.message.startswith(f"injected at {breaks.rule.step} on vc-a")
    else:
        assert task.error is breaks.fault
    assert "abort" in source_host.called()
    assert destination.called("abort") == ["abort"]
    assert "commit" not in source_host.called() and "finish" not in destination.called()
    assert "state" not in destination.called()           # before the commit the source knows it still has the VM
    assert parts.state.journal("outgoing") == []
    assert parts.event_types(vm)[-1] == ev.VM_FAILED_MIGRATE
    assert parts.state.get(vm.moid, Vm).host == vm.host
    assert source_host.running_vms[vm.instance_uuid] == PowerState.POWERED_ON
    assert os.path.exists(parts.disk_file(vm)) and parts.blocked == []
    assert parts.slots.in_use(vm.host) == 0
    for spec in [*destination.specs, *source_host.specs.values()]:
        assert spec.secrets is not None and spec.secrets.wiped


def test_a_failed_reservation_ends_the_task_with_its_fault(parts: FakeParts, destination: FakeDestination,
                                                           migrations: Migrations) -> None:
    failure = HostCommunication("vc-b does not answer")
    destination.script("reserve", failure)
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.ERROR and task.error is failure
    assert parts.state.task_states[task.key] == [TaskState.QUEUED, TaskState.ERROR]
    assert parts.hosts.calls() == {"esx-1": ["abort", "running"]}   # undone: the source host is told to go on
    assert parts.state.journal("outgoing") == []
    assert parts.state.get(vm.moid, Vm).host == vm.host
    assert parts.slots.in_use(vm.host) == 0


def test_a_move_cancelled_while_queued_ends_holding_nothing(parts: FakeParts, destination: FakeDestination,
                                                            migrations: Migrations) -> None:
    key = queue_behind_a_busy_source_host(parts, migrations)
    migrations.tasks.cancel(key)
    wait_until(lambda: parts.state.task(key).state.done, what="the task's end")

    task = parts.state.task(key)
    assert task.state == TaskState.ERROR and task.cancelled
    assert isinstance(task.error, RequestCanceled) and task.error.message == "the task was cancelled by the user"
    assert parts.state.task_states[key] == [TaskState.QUEUED, TaskState.ERROR]
    assert destination.called("reserve", "prepare") == []
    assert parts.hosts.calls() == {"esx-1": ["abort", "running"]}   # undone: the source host is told to go on
    assert parts.slots.in_use(parts.vm("vm-hot").host) == 4      # the test's own four: the move took none


def test_a_move_cancelled_while_queued_posts_its_end(parts: FakeParts, destination: FakeDestination, migrations: Migrations) -> None:
    key = queue_behind_a_busy_source_host(parts, migrations)
    migrations.tasks.cancel(key)
    wait_until(lambda: parts.state.task(key).state.done, what="the task's end")

    assert parts.event_types(parts.vm("vm-hot"))[-1] == ev.VM_FAILED_MIGRATE


def test_a_failed_reservation_is_undone_like_any_failure_before_the_commit(parts: FakeParts, destination: FakeDestination,
                                                                           migrations: Migrations) -> None:
    destination.script("reserve", HostCommunication("vc-b does not answer"))
    vm = parts.vm("vm-hot")
    relocate(parts, migrations)

    assert parts.event_types(vm)[-1] == ev.VM_FAILED_MIGRATE
    assert destination.called("abort") == ["abort"]


# -- a failure after the commit: settled ----------------------------------------------------------


def test_a_failure_at_finish_is_settled_as_moved(parts: FakeParts, destination: FakeDestination, migrations: Migrations) -> None:
    """END crossed (the source host confirmed it); the destination's finish fails once, then it says committed."""
    parts.hosts.expect_key = True
    destination.script("finish", HostCommunication("vc-b does not answer"), MOID_THERE)
    destination.script("state", (MigrationPhase.COMMITTED, False))
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult) and task.result.vm == MOID_THERE
    assert task.result.settled == "moved; the end was confirmed by the destination after: vc-b does not answer"
    migration_id = source_spec_id(parts)
    assert destination.calls[-4:] == [("finish", migration_id, False), ("state", migration_id), ("finish", migration_id, True),
                                      ("close",)]
    assert parts.state.journal("outgoing") == []
    assert parts.event_types(vm)[-1] == ev.VM_MIGRATED


def commit_then_lose_the_source_host(parts: FakeParts) -> None:
    """The destination commits; the source host's confirmation of END is lost (once)."""
    parts.hosts.expect_key = True
    parts.agent("esx-1").fail["complete"] = [HostCommunication("esx-1 does not answer")]


def test_settled_as_moved_when_the_destination_finished(parts: FakeParts, destination: FakeDestination, migrations: Migrations) -> None:
    commit_then_lose_the_source_host(parts)
    destination.script("state", (MigrationPhase.FINISHED, True))
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.SUCCESS, task.error
    assert isinstance(task.result, MigrationResult)
    assert task.result.vm == vm.moid     # the destination had finished: its moid is not asked again
    assert task.result.settled.startswith("moved; the end was confirmed by the destination after: the switchover was "
                                          "committed but the source host did not confirm it: esx-1 does not answer")
    assert destination.called("state", "finish", "abort") == ["state"]
    assert parts.state.journal("outgoing") == []
    assert parts.event_types(vm)[-1] == ev.VM_MIGRATED
    assert vm.moid not in {v.moid for v in parts.state.all(Vm)}


def test_settled_as_stayed_when_the_destination_is_only_prepared(parts: FakeParts, destination: FakeDestination,
                                                                 migrations: Migrations) -> None:
    commit_then_lose_the_source_host(parts)
    destination.script("state", (MigrationPhase.PREPARED, False))
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.ERROR
    assert isinstance(task.error, SwitchoverUnconfirmed)          # the original fault, not one of settling
    assert task.error.message == "the switchover was committed but the source host did not confirm it: esx-1 does not answer"
    assert destination.called("state", "finish", "abort") == ["state", "abort"]
    assert parts.agent("esx-1").called("abort") == ["abort"]
    assert parts.state.journal("outgoing") == []
    assert parts.event_types(vm)[-1] == ev.VM_FAILED_MIGRATE
    assert parts.state.get(vm.moid, Vm).host == vm.host


def test_unsettled_when_the_destination_does_not_answer(parts: FakeParts, destination: FakeDestination, migrations: Migrations) -> None:
    commit_then_lose_the_source_host(parts)
    destination.script("state", HostCommunication("vc-b does not answer"))
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.ERROR
    assert isinstance(task.error, MigrationFault)
    assert task.error.message == (
        "the switchover of vm-hot was committed, then: the switchover was committed but the source host did not confirm "
        "it: esx-1 does not answer; it could not be settled yet (vc-b does not answer): the journal of vc-a keeps it for later")
    assert task.error.arguments["outcome"] == "unknown"
    (row,) = parts.state.journal("outgoing")
    assert row.state == MigrationPhase.COMMITTING.value and row.migration_id == source_spec_id(parts)
    assert destination.called("finish", "abort") == []
    assert parts.event_types(vm)[-1] == ev.VM_HOT_MIGRATING_WITH_ENCRYPTION   # neither end posted yet

    again = relocate(parts, migrations)          # the VM does not move again while its last move is unsettled
    assert again.state == TaskState.ERROR and isinstance(again.error, InvalidState)
    assert again.error.message.startswith("vm-hot has a migration to vc-b that is not settled yet")
    assert len(parts.state.journal("outgoing")) == 1 and destination.called("reserve") == ["reserve"]
    assert not migrations.running(row.migration_id)                              # left for settle_unsettled


# -- queued -> running -> done --------------------------------------------------------------------


def test_a_refused_reservation_keeps_the_task_queued_until_it_gets_one(parts: FakeParts, destination: FakeDestination,
                                                                       migrations: Migrations) -> None:
    parts.hosts.expect_key = True
    destination.script("reserve", False, False, True)
    vm = parts.vm("vm-hot")
    task = relocate(parts, migrations)

    assert task.state == TaskState.SUCCESS, task.error
    assert parts.state.task_states[task.key] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCESS]
    assert "queued: esx-b1 runs its maximum of vMotions" in parts.state.task_details[task.key]
    assert destination.called("reserve") == ["reserve"] * 3
    assert parts.slots.in_use(vm.host) == 0 and parts.slots.peak(vm.host) == 1


def test_a_busy_source_host_keeps_the_task_queued_holding_nothing(parts: FakeParts, destination: FakeDestination,
                                                                  migrations: Migrations) -> None:
    parts.hosts.expect_key = True
    vm = parts.vm("vm-hot")
    key = queue_behind_a_busy_source_host(parts, migrations)
    time.sleep(0.05)                                      # several retries: it stays queued, asks no destination
    assert parts.state.task(key).state == TaskState.QUEUED
    assert destination.called("reserve") == []

    parts.slots.release(vm.host)
    wait_until(lambda: parts.state.task(key).state.done, what="the task's end")
    assert parts.state.task_states[key] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCESS]
    assert parts.slots.in_use(vm.host) == 3

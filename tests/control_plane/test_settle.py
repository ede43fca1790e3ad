"""Settling one migration from its journal row (rows V4, V5): for each phase the source journaled, and
each answer of the destination (its phase, whether its host runs the VM), the move ends MOVED or
STAYED, or, when the VM runs nowhere, a fault that leaves the row for the next try."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from control_plane_fakes import MOID_THERE, FakeDestination, FakeParts

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.migration.admission import arrival_of
from linkedmode.migration.arrivals import Arrivals
from linkedmode.migration.journal import ARRIVAL, OUTGOING, OutgoingRow
from linkedmode.migration.settle import Settled, settle, settle_unsettled
from linkedmode.migration.source import Migrations
from linkedmode.migration.spec import DiskMove, MigrationSpec, MigrationTarget
from linkedmode.model import events as ev
from linkedmode.model.faults import InvalidState, MigrationFault
from linkedmode.model.inventory import Vm
from linkedmode.model.migration import MigrationPhase
from linkedmode.model.settings import PowerState
from linkedmode.vcenter.tasks import TaskRunner

MIGRATION_ID = 0x00C0FFEE00C0FFEE
FAULT = "fault"

P, C, S = MigrationPhase.PREPARED, MigrationPhase.COMMITTING, MigrationPhase.SWITCHED
UNKNOWN, RESERVED, PREPARED = MigrationPhase.UNKNOWN, MigrationPhase.RESERVED, MigrationPhase.PREPARED
COMMITTED, FINISHED = MigrationPhase.COMMITTED, MigrationPhase.FINISHED


@dataclass(frozen=True)
class Case:
    row: MigrationPhase             # what the source journaled
    there: MigrationPhase           # what the destination says of the migration
    runs: bool                      # whether the destination host runs the VM
    source_runs: bool               # whether the source host still runs it (it gave it away once END crossed)
    expect: Settled | str
    why: str
    source_down: bool = False

    def __str__(self) -> str:
        return f"{self.row.value}-{self.there.value}-{'runs' if self.runs else 'idle'}-{'src' if self.source_runs else 'nosrc'}" + (
            "-down" if self.source_down else "")


MOVED, STAYED = Settled.MOVED, Settled.STAYED

CASES = [
    # before SWITCHED, END did not cross as far as the source knows: the source host still runs the VM
    # PREPARED: the commit was never asked for
    Case(P, UNKNOWN, False, True, STAYED, "the destination never heard of it: the source goes on"),
    Case(P, UNKNOWN, True, True, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(P, RESERVED, False, True, STAYED, "only a slot was reserved there: nothing to keep"),
    Case(P, RESERVED, True, True, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(P, PREPARED, False, True, STAYED, "prepared there, never committed: the source goes on"),
    Case(P, PREPARED, True, True, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(P, COMMITTED, False, True, STAYED, "committed there but END never crossed: the source still has it"),
    Case(P, COMMITTED, True, True, MOVED, "committed and running there: it is the destination's"),
    Case(P, FINISHED, False, True, MOVED, "finished there: it is in that inventory already"),
    Case(P, FINISHED, True, True, MOVED, "finished there: it is in that inventory already"),
    # COMMITTING: the commit was asked, its answer never came
    Case(C, UNKNOWN, False, True, STAYED, "the destination never heard of it: the source goes on"),
    Case(C, UNKNOWN, True, True, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(C, RESERVED, False, True, STAYED, "only a slot was reserved there: nothing to keep"),
    Case(C, RESERVED, True, True, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(C, PREPARED, False, True, STAYED, "the commit never reached the destination: the source goes on"),
    Case(C, PREPARED, True, True, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(C, COMMITTED, False, True, STAYED, "committed there, but its answer was lost and END never sent: the source has it"),
    Case(C, COMMITTED, True, True, MOVED, "committed and running there: it is the destination's"),
    Case(C, FINISHED, False, True, MOVED, "finished there: it is in that inventory already"),
    Case(C, FINISHED, True, True, MOVED, "finished there: it is in that inventory already"),
    # SWITCHED: the source host confirmed END and dropped its copy
    Case(S, UNKNOWN, False, False, FAULT, "the destination forgot it and the source gave it away: it runs nowhere"),
    Case(S, UNKNOWN, True, False, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(S, RESERVED, False, False, FAULT, "runs nowhere: neither side can take it back"),
    Case(S, RESERVED, True, False, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(S, PREPARED, False, False, FAULT, "runs nowhere: neither side can take it back"),
    Case(S, PREPARED, True, False, MOVED, "the destination host runs it: whoever runs the VM owns it"),
    Case(S, COMMITTED, False, False, MOVED, "END crossed and the destination committed: it is started again there (row V4)"),
    Case(S, COMMITTED, True, False, MOVED, "committed and running there: it is the destination's"),
    Case(S, FINISHED, False, False, MOVED, "finished there: it is in that inventory already"),
    Case(S, FINISHED, True, False, MOVED, "finished there: it is in that inventory already"),
    # the source host itself does not have the VM (or does not answer) before the commit
    Case(P, UNKNOWN, False, False, STAYED, "the source host lost it (it restarted) and the destination never committed: "
         "it is started again on the source, as vSphere HA would"),
    Case(C, PREPARED, False, True, FAULT, "the source host does not answer: it cannot be seen running the VM",
         source_down=True),
]


@pytest.fixture
def journaled(parts: FakeParts) -> tuple[OutgoingRow, Vm]:
    vm = parts.vm("vm-hot")
    row = OutgoingRow(MIGRATION_ID, MigrationPhase.PREPARED, vm.moid, vm.name, vm.instance_uuid, vm.host, "vc-b", "esx-b1",
                      remote=True, hot=True, disk_files=(parts.disk_file(vm),), destination_datacenter="dc-b")
    return row, vm


@pytest.mark.parametrize("case", CASES, ids=str)
def test_settle(parts: FakeParts, journaled: tuple[OutgoingRow, Vm], case: Case) -> None:
    row, vm = journaled
    row = row.at(case.row)
    parts.state.update(journal=[row.entry()])
    source_host = parts.agent("esx-1")
    source_host.phases[MIGRATION_ID] = MigrationPhase.COMPLETED if case.row == S else MigrationPhase.READY
    if not case.source_runs:
        del source_host.running_vms[vm.instance_uuid]
    source_host.down = case.source_down
    destination = FakeDestination()
    destination.script("state", (case.there, case.runs))

    if case.expect == FAULT:
        with pytest.raises(MigrationFault) as caught:
            settle(parts.vc, row, destination, "vc-a restarted")
        assert caught.value.message == "vm-hot runs neither on esx-1 nor on esx-b1: left in the journal for the next try"
        # never committed there: it drops its copy before the source may start one; else it is not touched
        assert destination.called() == (["state", "abort"] if case.row != S and case.there in (UNKNOWN, RESERVED, PREPARED)
                                        else ["state"])
        assert source_host.called() == (["abort", "register"] if case.source_down else ["abort", "running"])   # down: it tried
        assert [OutgoingRow.of(e) for e in parts.state.journal(OUTGOING)] == [row]
        assert parts.event_types(vm)[-1] == ev.VM_REGISTERED
        return

    settled, moid = settle(parts.vc, row, destination, "vc-a restarted")
    assert settled == case.expect, case.why
    assert parts.state.journal(OUTGOING) == [], case.why
    if settled == MOVED:
        asks_finish = case.there != FINISHED
        assert moid == (MOID_THERE if asks_finish else vm.moid)
        assert destination.calls[1:] == ([("finish", MIGRATION_ID, not case.runs)] if asks_finish else []), case.why
        assert source_host.called() == ["complete", "running"] + (["power_off", "unregister"] if case.source_runs else [])
        assert vm.instance_uuid not in source_host.running_vms
        assert vm.moid not in {v.moid for v in parts.state.all(Vm)} and parts.blocked == vm.mac_addresses
        (event,) = parts.state.events(vm=vm.moid, types=[ev.VM_MIGRATED])
        assert event.message == "Migrated vm-hot from esx-1 to esx-b1 in vc-b (settled: vc-a restarted)"
    else:
        assert moid == ""
        assert destination.called() == ["state", "abort"], case.why
        restarted = [] if case.source_runs else ["register", "power_on", "running"]
        assert source_host.called() == ["abort", "running", *restarted]
        assert source_host.running_vms[vm.instance_uuid] == PowerState.POWERED_ON
        assert parts.state.get(vm.moid, Vm).host == vm.host and parts.blocked == []
        (event,) = parts.state.events(vm=vm.moid, types=[ev.VM_FAILED_MIGRATE])
        assert event.message == "Cannot migrate vm-hot from esx-1 to esx-b1 in vc-b: vc-a restarted; it continues on esx-1"


def test_a_committed_destination_drops_its_copy_before_the_source_resumes(parts: FakeParts,
                                                                          journaled: tuple[OutgoingRow, Vm]) -> None:
    """END may be crossing while the commit's answer was lost: the destination is asked to drop its copy
    first; the source resumes only once it has."""
    row, _ = journaled
    row = row.at(MigrationPhase.COMMITTING)
    parts.state.update(journal=[row.entry()])
    source_host = parts.agent("esx-1")
    destination = FakeDestination()
    destination.script("state", (COMMITTED, False))
    settled, _ = settle(parts.vc, row, destination, "vc-a restarted")
    assert settled == STAYED
    assert destination.called() == ["state", "abort"] and source_host.called()[:1] == ["abort"]


def test_a_committed_destination_that_already_runs_the_vm_keeps_it(parts: FakeParts, journaled: tuple[OutgoingRow, Vm]) -> None:
    """Its host resumed the VM between the state it gave and the abort it refuses: the move is finished."""
    row, vm = journaled
    row = row.at(MigrationPhase.COMMITTING)
    parts.state.update(journal=[row.entry()])
    source_host = parts.agent("esx-1")
    del source_host.running_vms[vm.instance_uuid]                      # END crossed: the source dropped its copy
    destination = FakeDestination()
    destination.script("state", (COMMITTED, False))
    destination.script("abort", InvalidState("vm-hot already runs on esx-b1: the migration cannot be undone"))
    settled, moid = settle(parts.vc, row, destination, "vc-a restarted")
    assert (settled, moid) == (MOVED, MOID_THERE)
    assert destination.called() == ["state", "abort", "finish"]
    assert "abort" not in source_host.called() and parts.state.journal(OUTGOING) == []


def test_every_journal_phase_and_destination_answer_has_a_case() -> None:
    covered = {(c.row, c.there, c.runs) for c in CASES}
    assert covered == {(r, t, runs) for r in (P, C, S) for t in (UNKNOWN, RESERVED, PREPARED, COMMITTED, FINISHED)
                       for runs in (False, True)}


# -- settle_unsettled -----------------------------------------------------------------------------


def test_unsettled_rows_to_an_unlinked_vcenter_stay_for_later(parts: FakeParts, arrivals: Arrivals,
                                                              journaled: tuple[OutgoingRow, Vm]) -> None:
    row, _ = journaled
    parts.state.update(journal=[row.entry()])
    assert settle_unsettled(parts.vc, arrivals, "vc-a restarted") == {}
    assert [OutgoingRow.of(e) for e in parts.state.journal(OUTGOING)] == [row]


def test_unsettled_rows_of_a_running_task_are_left_to_it(parts: FakeParts, arrivals: Arrivals,
                                                         journaled: tuple[OutgoingRow, Vm]) -> None:
    row, _ = journaled
    row = OutgoingRow(**{**row.__dict__, "destination_vcenter": "vc-a", "destination_host": "esx-2", "remote": False})
    parts.state.update(journal=[row.entry()])
    assert settle_unsettled(parts.vc, arrivals, "later", running=lambda mid: mid == MIGRATION_ID) == {}
    assert parts.agent("esx-1").calls == []

    # once no task drives it, a move inside this vCenter that its destination never heard of stays
    parts.agent("esx-1").phases[MIGRATION_ID] = MigrationPhase.READY
    assert settle_unsettled(parts.vc, arrivals, "later") == {f"{MIGRATION_ID:016x}": Settled.STAYED}
    assert parts.state.journal(OUTGOING) == []
    assert parts.agent("esx-1").called() == ["abort", "running"]


# -- recovery of a move inside this vCenter, after a restart --------------------------------------


def restart_during_a_local_move(parts: FakeParts, target: MigrationTarget, spec: MigrationSpec | None) -> tuple[Migrations, str]:
    """A move of vm-hot inside vc-a, prepared at the destination and journaled at the source, then the
    vCenter restarts: its arrivals and migrations are new objects over the same journal. Returns the
    recovering Migrations and the VM's disk file before the move."""
    vm = parts.vm("vm-hot")
    before = parts.disk_file(vm)
    first = Arrivals(parts.vc)
    assert first.reserve(MIGRATION_ID, arrival_of(parts.vc, vm, cross=False), target)
    first.prepare(MIGRATION_ID, spec)
    host = parts.host(target.host)
    row = OutgoingRow(MIGRATION_ID, MigrationPhase.PREPARED, vm.moid, vm.name, vm.instance_uuid, vm.host, "vc-a", host.name,
                      remote=False, hot=True, disk_files=(before,), destination_datacenter="dc-a")
    parts.state.update(journal=[row.entry()])
    first.reset()                                            # what the restart loses: the arrivals in memory
    after = Arrivals(parts.vc)
    return Migrations(parts.vc, after, TaskRunner(parts.state, workers=1)), before


def test_recovery_of_a_move_between_hosts_keeps_the_vm_and_its_disk(parts: FakeParts) -> None:
    parts.hosts.expect_key = True
    vm = parts.vm("vm-hot")
    before = parts.disk_file(vm)
    spec = MigrationSpec(MIGRATION_ID, vm, "esx-1", "esx-2", 0.5, 1.0, MigrationSecrets.generate(MIGRATION_ID),
                         (DiskMove("Hard disk 1", 1, before),))
    parts.agent("esx-1").phases[MIGRATION_ID] = MigrationPhase.PRECOPY
    migrations, before = restart_during_a_local_move(parts, MigrationTarget("esx-2", "ds-other"), spec)
    try:
        assert migrations.recover() == {f"{MIGRATION_ID:016x}": Settled.STAYED}
    finally:
        migrations.tasks.shutdown()
    assert parts.state.journal(OUTGOING) == [] and parts.state.journal(ARRIVAL) == []
    assert os.path.exists(before)
    assert parts.state.get(vm.moid, Vm).disks == vm.disks


def test_recovery_of_a_datastore_only_move_keeps_the_vm_and_its_disk(parts: FakeParts) -> None:
    vm = parts.vm("vm-hot")
    migrations, before = restart_during_a_local_move(parts, MigrationTarget("esx-1", "ds-other"), None)
    try:
        settled = migrations.recover()
    finally:
        migrations.tasks.shutdown()
    assert os.path.exists(before), "the VM's disk was removed while the inventory still points at it"
    assert parts.state.get(vm.moid, Vm).disks == vm.disks
    assert settled == {f"{MIGRATION_ID:016x}": Settled.STAYED}

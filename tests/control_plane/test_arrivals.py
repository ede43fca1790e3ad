"""The destination side with fake hosts: a reservation takes the destination host's vMotion slot (row
V8) or says no, without waiting; reservations and arrivals that are never carried through expire on
the reaper; an abort before the prepare journals nothing; a commit needs a prepare; a restarted vCenter
finishes, keeps or drops each arrival of its journal by what its host says."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from control_plane_fakes import FakeParts, reaper_drained, reaper_held, wait_until

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.migration.admission import arrival_of
from linkedmode.migration.arrivals import Arrivals
from linkedmode.migration.journal import ARRIVAL, ArrivalRow
from linkedmode.migration.spec import Arrival, DiskMove, MigrationSpec, MigrationTarget
from linkedmode.model import events as ev
from linkedmode.model.fault_rules import FaultInjector
from linkedmode.model.faults import HostNotConnected, InsufficientMemoryResourcesFault, InvalidArgument, InvalidState, NotFound
from linkedmode.model.inventory import Vm
from linkedmode.model.migration import MigrationPhase, MigrationStep
from linkedmode.model.settings import PowerState

LIMIT = 4                       # a 1 GbE host (row V8)
MIGRATION_ID = 0x0A11FA11


def arrival(parts: FakeParts, vm: str = "vm-hot") -> Arrival:
    """A move of `vm` inside the vCenter, from its host esx-1."""
    return arrival_of(parts.vc, parts.vm(vm), cross=False)


def spec(parts: FakeParts, migration_id: int = MIGRATION_ID) -> MigrationSpec:
    return MigrationSpec(migration_id, parts.vm("vm-hot"), "esx-1", "esx-2", 0.5, 1.0, MigrationSecrets.generate(migration_id))


def fill(parts: FakeParts, host: str, count: int = LIMIT) -> None:
    for _ in range(count):
        assert parts.slots.try_acquire(parts.host(host).moid, LIMIT)


def journal(parts: FakeParts) -> list[ArrivalRow]:
    return [ArrivalRow.of(e) for e in parts.state.journal(ARRIVAL)]


# -- reserve --------------------------------------------------------------------------------------


def test_a_reservation_takes_the_destination_hosts_slot(parts: FakeParts, arrivals: Arrivals) -> None:
    esx2 = parts.host("esx-2").moid
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    assert parts.slots.in_use(esx2) == 1
    assert [(r.migration_id, r.phase) for r in arrivals.pending()] == [(MIGRATION_ID, MigrationPhase.RESERVED)]
    assert journal(parts) == []                                   # a reservation lives in memory only
    assert parts.agent("esx-2").called() == ["about"]             # the heartbeat: is the host a target at all
    assert parts.reaper.pending() == [f"reservation {MIGRATION_ID:016x}"]


def test_a_reservation_at_the_hosts_limit_says_no_without_waiting(parts: FakeParts, arrivals: Arrivals) -> None:
    fill(parts, "esx-2")
    started = time.monotonic()
    assert not arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    assert time.monotonic() - started < 3.0                      # it answers, it does not wait for a slot
    assert arrivals.pending() == [] and parts.slots.in_use(parts.host("esx-2").moid) == LIMIT

    parts.slots.release(parts.host("esx-2").moid)                 # one ends: the next try gets the slot
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    assert parts.slots.in_use(parts.host("esx-2").moid) == LIMIT


def test_a_move_that_stays_on_its_host_takes_no_slot(parts: FakeParts, arrivals: Arrivals) -> None:
    esx1 = parts.host("esx-1").moid
    fill(parts, "esx-1")                                          # the source's slot is the one it holds already
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-1", "ds-other"))
    assert parts.slots.in_use(esx1) == LIMIT
    arrivals.abort(MIGRATION_ID, "test")
    assert parts.slots.in_use(esx1) == LIMIT                      # and gives none back


def test_a_second_reservation_of_the_same_move_takes_no_second_slot(parts: FakeParts, arrivals: Arrivals) -> None:
    for _ in range(2):
        assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    assert parts.slots.in_use(parts.host("esx-2").moid) == 1


def test_a_host_that_does_not_answer_is_no_target(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.agent("esx-2").down = True
    with pytest.raises(HostNotConnected) as caught:
        arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    assert caught.value.message == "host esx-2 is not responding"
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0 and arrivals.pending() == []


# -- expiry ---------------------------------------------------------------------------------------


def test_a_reservation_never_prepared_is_given_back(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.timeouts = replace(parts.timeouts, reservation_expiry=0.05)
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    wait_until(lambda: arrivals.pending() == [], what="the reservation's expiry")
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert parts.agent("esx-2").called("abort") == [] and journal(parts) == []
    assert parts.reaper.pending() == []


def test_a_prepared_arrival_outlives_its_reservations_expiry(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    parts.timeouts = replace(parts.timeouts, reservation_expiry=0.05)
    with reaper_held(parts.reaper):                               # however slow the prepare, it comes first
        assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
        assert arrivals.prepare(MIGRATION_ID, spec(parts)) == "esx-2.vmotion:8000"
    time.sleep(0.1)                                               # past the reservation's time
    reaper_drained(parts.reaper)
    assert [r.phase for r in arrivals.pending()] == [MigrationPhase.PREPARED]
    assert [r.phase for r in journal(parts)] == [MigrationPhase.PREPARED]
    assert parts.reaper.pending() == [f"arrival {MIGRATION_ID:016x}"]


def test_an_arrival_never_committed_expires(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    parts.timeouts = replace(parts.timeouts, arrival_expiry=0.05)
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    arrivals.prepare(MIGRATION_ID, spec(parts))
    wait_until(lambda: arrivals.pending() == [], what="the arrival's expiry")
    assert parts.agent("esx-2").called("prepare_destination", "abort") == ["prepare_destination", "abort"]
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert journal(parts) == []


def test_a_committed_arrival_does_not_expire(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    parts.timeouts = replace(parts.timeouts, arrival_expiry=0.0)
    with reaper_held(parts.reaper):                               # the expiry falls due before the commit, runs after it
        assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
        arrivals.prepare(MIGRATION_ID, spec(parts))
        arrivals.commit(MIGRATION_ID)
    reaper_drained(parts.reaper)
    assert [r.phase for r in journal(parts)] == [MigrationPhase.COMMITTED]
    assert parts.agent("esx-2").called("abort") == []
    assert parts.slots.in_use(parts.host("esx-2").moid) == 1


# -- abort and commit -----------------------------------------------------------------------------


def test_an_abort_of_a_reservation_frees_the_slot_and_journals_nothing(parts: FakeParts, arrivals: Arrivals) -> None:
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    arrivals.abort(MIGRATION_ID, "the source gave up")
    assert arrivals.pending() == [] and parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert parts.agent("esx-2").called() == ["about"]             # the host never had anything to drop
    assert journal(parts) == [] and parts.state.store.journal(ARRIVAL) == []
    assert parts.reaper.pending() == []


def test_an_abort_of_a_prepared_arrival_tells_the_host_and_clears_the_journal(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    arrivals.prepare(MIGRATION_ID, spec(parts))
    assert len(journal(parts)) == 1
    arrivals.abort(MIGRATION_ID, "the source gave up")
    assert parts.agent("esx-2").called("abort") == ["abort"]
    assert journal(parts) == [] and parts.slots.in_use(parts.host("esx-2").moid) == 0


def test_an_abort_of_an_unknown_migration_does_nothing(parts: FakeParts, arrivals: Arrivals) -> None:
    arrivals.abort(MIGRATION_ID, "never reserved")
    assert parts.hosts.calls() == {}


def test_a_commit_before_the_prepare_is_refused(parts: FakeParts, arrivals: Arrivals) -> None:
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    with pytest.raises(InvalidState) as caught:
        arrivals.commit(MIGRATION_ID)
    assert caught.value.message == f"migration {MIGRATION_ID:016x} is not prepared here"
    assert [r.phase for r in arrivals.pending()] == [MigrationPhase.RESERVED] and journal(parts) == []


def test_a_commit_of_an_unknown_migration_is_refused(parts: FakeParts, arrivals: Arrivals) -> None:
    with pytest.raises(NotFound) as caught:
        arrivals.commit(MIGRATION_ID)
    assert caught.value.message == f"no migration {MIGRATION_ID:016x} is prepared on vc-a"


def test_a_commit_after_the_prepare_is_journaled(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    vm = parts.vm("vm-hot")
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    arrivals.prepare(MIGRATION_ID, spec(parts))
    assert arrivals.commit(MIGRATION_ID) == vm.moid               # inside one vCenter the VM keeps its moid
    (row,) = journal(parts)
    assert row.phase == MigrationPhase.COMMITTED and row.vm.host == parts.host("esx-2").moid


def test_a_plaintext_spec_reaches_the_destination_host_without_a_key(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = False
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    arrivals.prepare(MIGRATION_ID, replace(spec(parts), secrets=None))
    assert parts.agent("esx-2").specs[MIGRATION_ID].secrets is None


def test_a_prepare_the_destination_host_refuses_gives_everything_back(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    refused = HostNotConnected("host esx-2 does not answer")
    parts.agent("esx-2").fail["prepare_destination"] = [refused]
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    with pytest.raises(HostNotConnected) as caught:
        arrivals.prepare(MIGRATION_ID, spec(parts))
    assert caught.value is refused
    assert arrivals.pending() == [] and journal(parts) == []
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0 and parts.reaper.pending() == []


def test_a_prepare_without_a_reservation_is_refused(parts: FakeParts, arrivals: Arrivals) -> None:
    with pytest.raises(NotFound) as caught:
        arrivals.prepare(MIGRATION_ID, spec(parts))
    assert caught.value.message == f"no migration {MIGRATION_ID:016x} is reserved on vc-a: ReserveMigration comes first"
    assert parts.hosts.calls() == {}


# -- the destination host's memory ----------------------------------------------------------------


def small_host_with_one_arrival(parts: FakeParts, arrivals: Arrivals) -> Arrival:
    """esx-2 with 164 MB, running vm-two (64 MB), vm-hot (64 MB) prepared to arrive there; returns a
    third 64 MB VM's arrival."""
    parts.hosts.expect_key = False
    parts.state.update(put=[replace(parts.host("esx-2"), memory_mb=164)])
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    arrivals.prepare(MIGRATION_ID, replace(spec(parts), secrets=None))
    return arrival(parts, "vm-disabled")


def test_a_prepared_arrival_holds_its_memory(parts: FakeParts, arrivals: Arrivals) -> None:
    second = small_host_with_one_arrival(parts, arrivals)
    with pytest.raises(InsufficientMemoryResourcesFault) as caught:
        arrivals.check(second, MigrationTarget("esx-2"))
    assert caught.value.message == "host esx-2 has 36 MB of memory free; vm-disabled needs 64 MB"
    arrivals.abort(MIGRATION_ID, "the source gave up")
    arrivals.check(second, MigrationTarget("esx-2"))                  # given back with the arrival


def test_a_committed_arrival_holds_its_memory(parts: FakeParts, arrivals: Arrivals) -> None:
    second = small_host_with_one_arrival(parts, arrivals)
    arrivals.commit(MIGRATION_ID)
    with pytest.raises(InsufficientMemoryResourcesFault):
        arrivals.check(second, MigrationTarget("esx-2"))


# -- a reservation does not expire while its prepare runs ----------------------------------------


class SlowSpecExchange(FaultInjector):
    """A spec exchange that lasts several times the reservation's expiry (as a delay rule could)."""

    def __init__(self, seconds: float) -> None:
        super().__init__("vc-a")
        self._seconds = seconds

    def at(self, step: str, vm: str = "") -> None:
        if step == MigrationStep.SPEC_EXCHANGE:
            time.sleep(self._seconds)


def test_a_reservation_does_not_expire_under_its_prepare(parts: FakeParts, arrivals: Arrivals) -> None:
    """The prepare claims the reservation first: its expiry cannot release the slot while the spec is taken in."""
    parts.hosts.expect_key = True
    parts.timeouts = replace(parts.timeouts, reservation_expiry=0.05)
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    parts.faults = SlowSpecExchange(0.3)
    arrivals.prepare(MIGRATION_ID, spec(parts))
    assert [r.phase for r in arrivals.pending()] == [MigrationPhase.PREPARED]
    assert parts.slots.in_use(parts.host("esx-2").moid) == 1 and [r.phase for r in journal(parts)] == [MigrationPhase.PREPARED]
    assert arrivals.commit(MIGRATION_ID) == parts.vm("vm-hot").moid


def test_a_prepare_that_fails_gives_the_reservation_its_expiry_back(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.timeouts = replace(parts.timeouts, reservation_expiry=0.2)
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    with pytest.raises(InvalidArgument):
        arrivals.prepare(MIGRATION_ID, None)            # a hot migration needs its spec
    assert parts.slots.in_use(parts.host("esx-2").moid) == 1
    wait_until(lambda: arrivals.pending() == [], what="the reservation's expiry")
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0 and journal(parts) == []


# -- what a prepare checks of the spec it gets ----------------------------------------------------


def test_a_spec_of_another_migration_is_refused(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2"))
    with pytest.raises(InvalidArgument) as caught:
        arrivals.prepare(MIGRATION_ID, spec(parts, migration_id=MIGRATION_ID + 1))
    assert caught.value.message == (f"spec.migration_id {MIGRATION_ID + 1:016x} is not the migration's id "
                                    f"{MIGRATION_ID:016x}")
    assert [r.phase for r in arrivals.pending()] == [MigrationPhase.RESERVED] and journal(parts) == []
    assert parts.agent("esx-2").called("prepare_destination") == []


def test_a_spec_must_name_the_disks_that_change_datastore(parts: FakeParts, arrivals: Arrivals) -> None:
    parts.hosts.expect_key = True
    assert arrivals.reserve(MIGRATION_ID, arrival(parts), MigrationTarget("esx-2", "ds-other"))
    with pytest.raises(InvalidArgument) as caught:
        arrivals.prepare(MIGRATION_ID, spec(parts))                   # a spec that moves no disk
    assert caught.value.message == "spec.disk_moves names no disk, but the disks that change datastore are Hard disk 1"
    assert [r.phase for r in arrivals.pending()] == [MigrationPhase.RESERVED] and journal(parts) == []

    vm = parts.vm("vm-hot")
    moves = (DiskMove("Hard disk 1", 1, parts.disk_file(vm)),)
    arrivals.prepare(MIGRATION_ID, replace(spec(parts), disk_moves=moves))
    (taken,) = parts.agent("esx-2").specs.values()
    assert taken.disk_moves[0].destination_path == parts.datastores.disk_path("ds-other", vm.name, vm.disks[0])
    assert journal(parts)[0].disk_files == (taken.disk_moves[0].destination_path,)


# -- recovery: each arrival row a restarted vCenter finds -----------------------------------------

ARRIVING = 0x0A11FA12


def journaled_arrival(parts: FakeParts, phase: MigrationPhase) -> tuple[ArrivalRow, Arrival]:
    """A hot arrival from vc-b's esx-b1 to esx-2, journaled at `phase` before this vCenter restarted."""
    here = parts.host("esx-2")
    came = replace(parts.vm("vm-two"), moid="vm-from-b", name="vm-from-b", instance_uuid="4200aaaa-0000-4000-8000-0000000000b1",
                   host="host-b1", datacenter="datacenter-b", nics=[], disks=[])
    row = ArrivalRow(ARRIVING, phase, Arrival(came, "vc-b", "esx-b1", hot=True, encrypted=True),
                     replace(came, moid=parts.state.next_moid("vm"), host=here.moid, datacenter=here.datacenter), here.moid)
    parts.state.update(journal=[row.entry()])
    return row, row.arrival


@pytest.mark.parametrize("phase", [MigrationPhase.PREPARED, MigrationPhase.COMMITTED])
def test_an_arrival_whose_host_runs_the_vm_is_finished_at_recovery(parts: FakeParts, phase: MigrationPhase) -> None:
    row, came = journaled_arrival(parts, phase)
    parts.agent("esx-2").running_vms[came.vm.instance_uuid] = PowerState.POWERED_ON
    recovered = Arrivals(parts.vc)
    recovered.recover()

    joined = parts.state.find(Vm, name="vm-from-b")
    assert joined.moid == row.vm.moid and joined.host == parts.host("esx-2").moid
    assert journal(parts) == [] and recovered.pending() == []
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert parts.event_types(joined)[-1] == ev.VM_MIGRATED


@pytest.mark.parametrize("phase", [MigrationPhase.PREPARED, MigrationPhase.COMMITTED])
def test_an_arrival_still_streaming_is_kept_for_its_source_at_recovery(parts: FakeParts, phase: MigrationPhase) -> None:
    journaled_arrival(parts, phase)
    parts.agent("esx-2").phases[ARRIVING] = MigrationPhase.PRECOPY
    recovered = Arrivals(parts.vc)
    recovered.recover()

    assert [r.phase for r in recovered.pending()] == [phase] and [r.phase for r in journal(parts)] == [phase]
    assert parts.slots.in_use(parts.host("esx-2").moid) == 1          # its slot counted again
    assert parts.reaper.pending() == [f"arrival {ARRIVING:016x}"]     # and its expiry on the reaper
    assert not [v for v in parts.state.all(Vm) if v.name == "vm-from-b"]


@pytest.mark.parametrize("phase", [MigrationPhase.PREPARED, MigrationPhase.COMMITTED])
def test_an_arrival_its_host_never_heard_of_is_dropped_at_recovery(parts: FakeParts, phase: MigrationPhase) -> None:
    journaled_arrival(parts, phase)
    recovered = Arrivals(parts.vc)
    recovered.recover()

    assert journal(parts) == [] and recovered.pending() == []
    assert parts.slots.in_use(parts.host("esx-2").moid) == 0
    assert not [v for v in parts.state.all(Vm) if v.name == "vm-from-b"]
    assert parts.reaper.pending() == []


def test_a_finished_arrival_row_is_left_to_the_source_side_at_recovery(parts: FakeParts) -> None:
    row, _ = journaled_arrival(parts, MigrationPhase.FINISHED)
    recovered = Arrivals(parts.vc)
    recovered.recover()

    assert journal(parts) == [row] and recovered.pending() == []
    assert parts.hosts.calls() == {} and parts.slots.in_use(parts.host("esx-2").moid) == 0

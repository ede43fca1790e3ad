"""RelocateVM_Task at the source vCenter: one migration, inside this vCenter or to a linked one, as a
state machine whose phase is a `MigrationPhase` and whose saved form is its journal row.

Admission (checks, the decision) -> queued until it holds its source host's vMotion slot and a
reservation of the destination host's -> PREPARED (journaled, then the spec goes to the destination) -> the
page stream -> COMMITTING -> SWITCHED -> finished. Before the commit any failure undoes the move and
the VM goes on at the source (row V5); after it, `settle` asks who runs the VM.

Disks that change datastore cross on the page stream of a live move between hosts; otherwise (a cold
move, a datastore-only move on one host) the destination copies them before the commit.
"""

from __future__ import annotations

import secrets as random_source
import threading
import time
from dataclasses import replace

from ..crypto.secrets import MigrationSecrets
from ..model import events as ev
from ..model.faults import Fault, MigrationFault
from ..model.inventory import Datastore, Vm
from ..model.migration import MigrationPhase, MigrationResult, MigrationStep, StreamFigures
from ..model.settings import max_switchover_seconds
from ..model.tasks import Task
from ..vcenter.events import vm_event
from ..vcenter.tasks import TaskControl, TaskRunner
from ..vcenter.vsan_keys import VsanKeys
from .admission import Admission, admit, check_request, destination_for
from .arrivals import Arrivals
from .destinations import Destination
from .journal import OutgoingRow
from .page_stream import run_page_stream
from .ports import VCenterParts
from .settle import Settled, Who, finish, settle, settle_unsettled, undo
from .spec import DiskMove, HostProgress, MigrationSpec, RelocateRequest


class Migrations:
    """The migrations a vCenter starts: each one a task, the ones in flight known by id."""

    def __init__(self, vc: VCenterParts, arrivals: Arrivals, tasks: TaskRunner) -> None:
        self.vc = vc
        self.arrivals = arrivals
        self.tasks = tasks
        self._running: set[int] = set()
        self._lock = threading.Lock()

    def relocate(self, vm: Vm, request: RelocateRequest, user: str) -> Task:
        check_request(request)

        def work(control: TaskControl) -> MigrationResult:
            return SourceMigration(self, vm.moid, request, user, control).run()

        return self.tasks.submit("VirtualMachine.relocate", vm.moid, vm.name, user, work, cancelable=True, starts_queued=True)

    def running(self, migration_id: int) -> bool:
        """A task of this vCenter still drives the migration (its journal row is not for settling)."""
        with self._lock:
            return migration_id in self._running

    def started(self, migration_id: int) -> None:
        with self._lock:
            self._running.add(migration_id)

    def ended(self, migration_id: int) -> None:
        with self._lock:
            self._running.discard(migration_id)

    def settle_unsettled(self, reason: str) -> dict[str, Settled]:
        return settle_unsettled(self.vc, self.arrivals, reason, running=self.running)

    def recover(self) -> dict[str, Settled]:
        """At start: every migration of the journal settled (or left for the next try, said in the log)."""
        self.arrivals.recover()
        return self.settle_unsettled(f"{self.vc.name} restarted during the migration")


class SourceMigration:
    def __init__(self, owner: Migrations, moid: str, request: RelocateRequest, user: str, control: TaskControl) -> None:
        self.owner = owner
        self.vc = owner.vc
        self.moid = moid
        self.request = request
        self.control = control
        self.who = Who(user, control.key)
        self.migration_id = int.from_bytes(random_source.token_bytes(8), "big")
        self.phase = MigrationPhase.UNKNOWN
        self._row: OutgoingRow | None = None
        self._pages_total = 0

    def run(self) -> MigrationResult:
        vm = self.vc.state.get(self.moid, Vm)   # a suspended VM moves cold, its suspended state with it (row V13)
        destination = destination_for(self.vc, self.owner.arrivals, self.request)
        self.owner.started(self.migration_id)
        try:
            self.control.progress(2, f"checking {destination.vcenter}")
            admission = self._post_start(admit(self.vc, vm, self.request, destination), destination)
            moved = self._moved_disks(admission)
            self._row = self._outgoing_row(admission, destination, moved)
            try:
                waited = self._take_slots(admission, destination)
            except Fault as fault:   # cancelled while queued, or the destination refused: it began, so it ends
                undo(self.vc, self._row, destination, str(fault), restart=True, who=self.who)
                self.phase = MigrationPhase.ABORTED
                raise
            try:
                return self._migrate(admission, destination, moved, waited)
            finally:
                self.vc.slots.release(admission.source.moid)
        finally:
            self.owner.ended(self.migration_id)
            destination.close()

    # -- queued: both slots or none --------------------------------------------------------------

    def _take_slots(self, a: Admission, destination: Destination) -> float:
        """Holds the source host's slot and a reservation of the destination host's, or waits (queued)
        holding neither: no move ever waits while it holds a slot another one needs. Among the moves
        waiting for a host, those of higher priority go first."""
        slots, started, announced = self.vc.slots, time.monotonic(), False
        priority = self.request.priority
        while True:
            try:
                self.control.check_cancelled()
            except BaseException:
                slots.withdraw(a.source.moid, self.migration_id)
                raise
            if slots.try_acquire(a.source.moid, a.source.max_concurrent_vmotions, priority=priority, waiter=self.migration_id):
                try:
                    reserved = destination.reserve(self.migration_id, a.arrival, a.target, priority)
                except BaseException:
                    slots.release(a.source.moid)
                    raise
                if reserved:
                    self.control.start()
                    return time.monotonic() - started
                slots.release(a.source.moid)
                busy = a.destination_host.name
            else:
                busy = a.source.name
            seen = slots.releases()
            if not announced:
                self.control.progress(5, f"queued: {busy} runs its maximum of vMotions")
                announced = True
            slots.wait_for_release(seen, self.vc.timeouts.slot_retry)

    # -- the move --------------------------------------------------------------------------------

    def _record(self, row: OutgoingRow) -> OutgoingRow:
        self._row, self.phase = row, row.phase
        self.vc.state.update(journal=[row.entry()])
        return row

    def _commit(self, destination: Destination) -> str:
        assert self._row is not None
        self.control.point_of_no_return()   # row V9: cancelable turns false here; a cancel asked before ends it now
        self._record(self._row.at(MigrationPhase.COMMITTING))
        self.control.progress(95, f"switchover: committing through {destination.vcenter}")
        self.vc.faults.at(MigrationStep.COMMIT, self._row.name)
        moid = destination.commit(self.migration_id)
        self.phase = MigrationPhase.COMMITTED
        return moid

    def _outgoing_row(self, a: Admission, destination: Destination, moved: list[DiskMove]) -> OutgoingRow:
        vm = a.vm
        return OutgoingRow(self.migration_id, MigrationPhase.PREPARED, vm.moid, vm.name, vm.instance_uuid, a.source.moid,
                           destination.vcenter, a.destination_host.name, destination.remote, a.arrival.hot,
                           tuple(m.source_path for m in moved), a.destination_host.datacenter, self.who.chain_id)

    def _migrate(self, a: Admission, destination: Destination, moved: list[DiskMove], waited: float) -> MigrationResult:
        vc, vm = self.vc, a.vm
        assert self._row is not None
        row = self._row
        max_switchover = max_switchover_seconds(vm.extra_config, vc.timeouts.max_switchover)   # row V4: the VM's, else ours
        agent = vc.hosts.agent(a.source)   # before the key exists: nothing to wipe if this fails
        secrets = MigrationSecrets.generate(self.migration_id) if a.streams and a.decision.encrypted else None
        spec = None
        if a.streams:
            spec = MigrationSpec(self.migration_id, vm, a.source.name, a.destination_host.name,
                                 vc.timeouts.switchover_goal, max_switchover, secrets, tuple(moved))
        figures: StreamFigures | None = None
        try:
            self.control.check_cancelled()
            self.control.progress(8, f"preparing {a.destination_host.name}")
            vc.faults.at(MigrationStep.SPEC_EXCHANGE, vm.name)
            vsan = VsanKeys(vc.state, vc.keys)
            source_keys = {d.label: vsan.key(d.datastore) for d in vm.disks if d.label in {m.label for m in moved}}
            copied_keys = () if spec is not None else tuple(source_keys.get(d.label, b"") for d in vm.disks)
            self._record(row)   # before the destination journals its side: a restart here finds both, or neither
            address = destination.prepare(self.migration_id, a.arrival, a.target, spec, copied_keys)
            if spec is None:
                self._commit(destination)
                if not a.arrival.hot:
                    agent.unregister(vm)
            else:
                _, outcome = run_page_stream(agent, spec.with_source_keys(source_keys), address,
                                             on_progress=lambda p: self._progress(p, a),
                                             commit=lambda: self._commit(destination),
                                             migration_timeout=vc.timeouts.migration,
                                             switchover_timeout=max_switchover + 10)
                figures = outcome.figures
            row = self._record(row.at(MigrationPhase.SWITCHED))
            moid = finish(vc, row, destination, who=self.who)
            self.phase = MigrationPhase.FINISHED
            return self._result(a, destination, moid, waited, figures)
        except Fault as fault:
            if self.phase in (MigrationPhase.COMMITTED, MigrationPhase.SWITCHED):
                return self._settle_after(a, destination, fault, waited)
            undo(vc, self._row, destination, str(fault), restart=True, who=self.who)   # before the commit: no END crossed
            self.phase = MigrationPhase.ABORTED
            raise
        finally:
            if spec is not None:
                spec.wipe()
            elif secrets is not None:
                secrets.wipe()

    def _settle_after(self, a: Admission, destination: Destination, fault: Fault, waited: float) -> MigrationResult:
        """Past the commit something failed: whoever runs the VM now decides how the migration ends.
        Returns the result of a move that happened; raises when it did not (or is not known yet)."""
        assert self._row is not None
        row = self._row
        try:
            outcome, moid = settle(self.vc, row, destination, fault.message, who=self.who)
        except Fault as unsettled:
            raise MigrationFault(f"the switchover of {row.name} was committed, then: {fault.message}; it could not be "
                                 f"settled yet ({unsettled.message}): the journal of {self.vc.name} keeps it for later",
                                 object=row.vm, outcome="unknown") from None
        if outcome == Settled.STAYED:
            raise fault   # settled: the VM continues on the source, for the reason the fault gives
        return self._result(a, destination, moid, waited, None,
                            settled=f"moved; the end was confirmed by the destination after: {fault.message}")

    def _moved_disks(self, a: Admission) -> list[DiskMove]:
        """The disks that change datastore, with their files here: every disk of a VM that leaves for
        another vCenter (its datastores are its own), else those not on spec.datastore already."""
        state, vm = self.vc.state, a.vm
        if a.remote:
            moving = list(vm.disks)
        elif self.request.target.datastore:
            datastore = state.resolve(Datastore, self.request.target.datastore)
            moving = [d for d in vm.disks if d.datastore != datastore.moid]
        else:
            moving = []
        return [DiskMove(d.label, d.capacity_mb, self.vc.datastores.disk_path(state.get(d.datastore, Datastore).name, vm.name, d))
                for d in moving]

    def _progress(self, progress: HostProgress, a: Admission) -> None:
        """Task progress from the source host's rounds."""
        self._pages_total = max(self._pages_total, progress.pages_left)
        done = 1 - progress.pages_left / self._pages_total if self._pages_total else 0
        slowed = f", guest slowed {progress.throttle:.0%}" if progress.throttle else ""
        self.control.progress(10 + int(80 * done), f"round {progress.round}, {progress.pages_left} pages left, "
                              f"{progress.mbps:.0f} MB/s, {a.decision.used}{slowed}")
        self.control.check_cancelled()

    def _result(self, a: Admission, destination: Destination, moid: str, waited: float, figures: StreamFigures | None,
                settled: str = "") -> MigrationResult:
        d = a.decision
        return MigrationResult(vm=moid, vcenter=destination.vcenter, host=a.destination_host.name, mode_asked=d.asked,
                               encrypted=d.encrypted, fell_back=d.fell_back, reason=d.reason, hot=a.arrival.hot,
                               migration_id=self.migration_id, disks_moved=len(self._row.disk_files) if self._row else 0,
                               queued_ms=waited * 1e3, stream=figures, settled=settled)

    def _post_start(self, a: Admission, destination: Destination) -> Admission:
        """The migration's first events; the key of the first is the chain every later event of it carries,
        here and at the destination (row V14). Returns the admission with its arrival in that chain."""
        where = f"{a.destination_host.name} in {destination.vcenter}"
        hot = a.arrival.hot
        first, = self.vc.state.update(events=[self._event(ev.VM_BEING_HOT_MIGRATED if hot else ev.VM_BEING_MIGRATED, a,
                                                          f"Migrating {a.vm.name} from {a.source.name} to {where}", destination)])
        self.who = replace(self.who, chain_id=first.chain_id)
        if hot and a.decision.encrypted and a.destination_host.name != a.source.name:   # on one host nothing crosses (row D1)
            self.vc.state.update(events=[self._event(ev.VM_HOT_MIGRATING_WITH_ENCRYPTION, a,
                                 f"Hot migrating {a.vm.name} from {a.source.name} to {where} with encryption", destination)])
        return replace(a, arrival=replace(a.arrival, chain_id=first.chain_id))

    def _event(self, type_: str, a: Admission, message: str, destination: Destination) -> ev.Event:
        arguments = {"destHost": a.destination_host.name, "destDatacenter": a.destination_host.datacenter,
                     "destVcenter": destination.vcenter}
        return vm_event(self.vc.state, type_, a.vm, message, host=a.source.name, user=self.who.user, task=self.who.task,
                        chain_id=self.who.chain_id, arguments=arguments)

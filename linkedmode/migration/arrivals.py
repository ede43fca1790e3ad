"""The destination side of migrations in one vCenter: check, reserve, prepare, commit, finish, abort.

The same code serves a vMotion inside this vCenter and one coming from a linked vCenter over
LinkedMode; only a cross-vCenter arrival adds a new VM to this inventory (with a moid of this vCenter,
the same instance UUID and MACs) and posts the destination's own events.

Each arrival is one `ArrivalRow`: RESERVED (in memory: a vMotion slot held), then PREPARED and
COMMITTED (journaled), removed once FINISHED or aborted. Expiry runs on the vCenter's reaper.

Disks that change datastore get their new files on this vCenter's datastores: written by the
destination host from the page stream (a live move between hosts), or copied here in the clear before
the commit (a cold move, or a datastore-only move on one host: rows D1, D2).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from ..model import events as ev
from ..model.faults import (
    AlreadyExists,
    Fault,
    InvalidArgument,
    InvalidState,
    MigrationFault,
    NotFound,
)
from ..model.inventory import Datacenter, Datastore, Host, Vm
from ..model.migration import MigrationPhase, MigrationStep, MovePriority
from ..model.settings import PowerState
from ..reaper import Scheduled
from ..vcenter.events import vm_event
from ..vcenter.host_client import HostAgentClient
from ..vcenter.vsan_keys import VsanKeys
from ..vmotion.disks import check_disk_path, copy_disk
from ..vmotion.vsan import vsan_layer, wipe_all
from .arrival_checks import ArrivalChecks
from .journal import ARRIVAL, ArrivalRow
from .ports import VCenterParts
from .spec import Arrival, MigrationSpec, MigrationTarget

log = logging.getLogger(__name__)


def streams(arrival: Arrival, host_name: str) -> bool:
    """Does the VM cross on a page stream? Not when it is off, nor when it stays on its host."""
    return arrival.hot and (arrival.cross or host_name != arrival.source_host)


def takes_slot(arrival: Arrival, host_name: str) -> bool:
    """A move that stays on its host holds only the source's slot (the same host's)."""
    return arrival.cross or host_name != arrival.source_host


@dataclass
class _Pending:
    row: ArrivalRow
    host: Host
    target: MigrationTarget
    slot: bool
    expiry: Scheduled | None = None
    preparing: bool = False      # a prepare has claimed the reservation: it does not expire under it

    @property
    def streams(self) -> bool:
        return streams(self.row.arrival, self.host.name)


class Arrivals:
    def __init__(self, vc: VCenterParts) -> None:
        self.vc = vc
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._checks = ArrivalChecks(vc, self._other_rows)

    def _other_rows(self, ignore: int | None) -> list[ArrivalRow]:
        with self._lock:
            return [p.row for mid, p in self._pending.items() if mid != ignore]

    # -- checks ----------------------------------------------------------------------------------

    def check(self, arrival: Arrival, target: MigrationTarget, *, ignore: int | None = None) -> tuple[Host, Vm]:
        """The destination's checks (ArrivalChecks); returns the target host and the VM as it would be here."""
        return self._checks.check(arrival, target, ignore=ignore)

    # -- the migration ---------------------------------------------------------------------------

    def reserve(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                priority: MovePriority = MovePriority.DEFAULT) -> bool:
        """Checks again and takes the destination host's vMotion slot without waiting. False while the
        host runs its maximum; a reservation never prepared is given back after `reservation_expiry`."""
        host, vm = self.check(arrival, target, ignore=migration_id)
        with self._lock:
            known = self._pending.get(migration_id)
            if known is not None:
                if known.row.phase != MigrationPhase.RESERVED:
                    raise AlreadyExists(f"migration {migration_id:016x} is already prepared here", object=known.row.vm.moid)
                return True
            slot = takes_slot(arrival, host.name)
            if slot and not self.vc.slots.try_acquire(host.moid, host.max_concurrent_vmotions, priority=priority,
                                                      waiter=migration_id):
                return False
            if arrival.cross:
                vm = replace(vm, moid=self.vc.state.next_moid("vm"))
            pending = _Pending(ArrivalRow(migration_id, MigrationPhase.RESERVED, arrival, vm, host.moid), host, target, slot)
            self._pending[migration_id] = pending
        pending.expiry = self.vc.reaper.after(self.vc.timeouts.reservation_expiry, lambda: self._expire(migration_id),
                                              name=f"reservation {migration_id:016x}")
        return True

    def prepare(self, migration_id: int, spec: MigrationSpec | None, disk_keys: tuple[bytes, ...] = ()) -> str:
        """For a reserved migration: journals it, gives the destination host the spec (with its key) or
        copies the disks that change datastore; returns where the page stream goes ("" when nothing
        streams). The caller keeps the spec and wipes it. `disk_keys`: for a copy, per disk of the VM,
        the vSAN key of the datastore it is on at the source (b"": none), never journaled."""
        if spec is not None and spec.migration_id != migration_id:
            raise InvalidArgument(f"spec.migration_id {spec.migration_id:016x} is not the migration's id {migration_id:016x}",
                                  argument="spec.migration_id")
        with self._lock:
            pending = self._pending.get(migration_id)
            if pending is None:
                raise NotFound(f"no migration {migration_id:016x} is reserved on {self.vc.name}: ReserveMigration comes first",
                               object=f"{migration_id:016x}")
            if pending.row.phase != MigrationPhase.RESERVED or pending.preparing:
                raise AlreadyExists(f"migration {migration_id:016x} is already prepared here", object=pending.row.vm.moid)
            pending.preparing = True   # the reservation is this prepare's now: it cannot expire under it
            if pending.expiry is not None:
                pending.expiry.cancel()
        row = pending.row
        try:
            self.vc.faults.at(MigrationStep.SPEC_EXCHANGE, row.vm.name)
            new_files = self._new_disk_files(row)
            if pending.streams:
                if spec is None:
                    raise InvalidArgument("a hot migration needs its spec", argument="spec")
                spec = self._name_new_files(spec, new_files, self._vsan_keys(row, new_files))
        except BaseException:
            with self._lock:
                pending.preparing = False
            self._expire_after(pending, self.vc.timeouts.reservation_expiry, "reservation")
            raise
        row = replace(row, phase=MigrationPhase.PREPARED, disk_files=tuple(new_files.values()))
        with self._lock:
            pending.row, pending.preparing = row, False   # now an arrival: its own expiry from here on
        self.vc.state.update(journal=[row.entry()])
        self._expire_after(pending, self.vc.timeouts.arrival_expiry, "arrival")
        try:
            if pending.streams and spec is not None:
                address = self._agent(pending).prepare_destination(spec)
            else:
                address = ""
                self._copy_disks(row, new_files, disk_keys)
        except BaseException:
            self._forget(migration_id, journal_done=True)
            raise
        if row.arrival.cross:
            a = row.arrival
            self._post(row, ev.VM_BEING_HOT_MIGRATED if a.hot else ev.VM_BEING_MIGRATED,
                       f"Migrating {row.vm.name} from {a.source_host} in {a.source_vcenter} to {pending.host.name}")
            if a.hot and a.encrypted:
                self._post(row, ev.VM_HOT_MIGRATING_WITH_ENCRYPTION,
                           f"Hot migrating {row.vm.name} from {a.source_host} in {a.source_vcenter} to {pending.host.name} with encryption")
        return address

    def commit(self, migration_id: int) -> str:
        """The switchover is decided: recorded before the source host sends END. Returns the moid the
        VM will have in this vCenter."""
        pending = self._get(migration_id)
        if pending.row.phase not in (MigrationPhase.PREPARED, MigrationPhase.COMMITTED):
            raise InvalidState(f"migration {migration_id:016x} is not prepared here", object=pending.row.vm.moid)
        self.vc.faults.at(MigrationStep.COMMIT, pending.row.vm.name)
        row = pending.row.at(MigrationPhase.COMMITTED)
        self._keep(pending, row)
        self.vc.state.update(journal=[row.entry()])
        return row.vm.moid

    def finish(self, migration_id: int, restart: bool = False) -> Vm:
        """The destination host runs the VM (a cold arrival is registered there now): it joins this
        inventory. `restart`: END is known to have gone through, so if the host lost the VM since (it
        died after the switchover), it starts it again, as vSphere HA would."""
        pending = self._get(migration_id)
        row = pending.row
        if row.phase != MigrationPhase.COMMITTED:
            raise InvalidState(f"migration {migration_id:016x} was not committed", object=row.vm.moid)
        self.vc.faults.at(MigrationStep.RESUME, row.vm.name)
        vm, agent = row.vm, self._agent(pending)
        if row.arrival.hot:
            if not (self._runs_on_host(pending) if restart else self._resumed_on_host(pending, self.vc.timeouts.resume_wait)):
                if not restart:
                    raise MigrationFault(f"{vm.name} does not run on {pending.host.name}", object=vm.moid)
                log.warning("%s: %s was lost with %s after the switchover: starting it again there", self.vc.name,
                            vm.name, pending.host.name)
                agent.register(vm)
                agent.power_on(vm)
        else:
            agent.register(vm)
        done = [(ARRIVAL, migration_id)]
        if row.arrival.cross:
            a = row.arrival
            self.vc.state.update(put=[vm], journal_done=done, events=[self._event(
                row, ev.VM_MIGRATED, f"Migrated {vm.name} from {a.source_host} in {a.source_vcenter} to {pending.host.name}")])
        else:   # the source's side of this vCenter ends the move and removes this row with its own (settle.finish)
            here = self.vc.state.get(vm.moid, Vm)
            self.vc.state.update(put=[replace(here, host=vm.host, disks=vm.disks, nics=vm.nics,
                                              min_required_evc_mode_key=vm.min_required_evc_mode_key)],
                                 journal=[row.at(MigrationPhase.FINISHED).entry()])
        self._forget(migration_id)
        return vm

    def abort(self, migration_id: int, reason: str) -> None:
        """Before the destination host resumed: it drops what it received; nothing joins this inventory."""
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is None:
            return
        row = pending.row
        if pending.streams and row.phase != MigrationPhase.RESERVED and self._runs_on_host(pending):
            raise InvalidState(f"{row.vm.name} already runs on {pending.host.name}: the migration cannot be undone",
                               object=row.vm.moid)
        try:
            if pending.streams and row.phase != MigrationPhase.RESERVED:
                self._agent(pending).abort(migration_id, reason)
        finally:
            self.vc.datastores.remove_disks(row.disk_files)
            self._forget(migration_id, journal_done=row.phase != MigrationPhase.RESERVED)
            if row.arrival.cross and row.phase != MigrationPhase.RESERVED:
                self._post(row, ev.VM_FAILED_MIGRATE, f"Failed to migrate {row.vm.name} to {pending.host.name}: {reason}")

    def state_of(self, migration_id: int, instance_uuid: str, host_name: str, *, cross: bool) -> tuple[MigrationPhase, bool]:
        """Where the migration stands here, and whether the destination host runs the VM. A move inside
        this vCenter that finished keeps its row (FINISHED) until the source's side ends it; one from
        another vCenter finished when the VM is in this inventory, on that host."""
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is not None:
            runs = pending.streams and pending.row.phase != MigrationPhase.RESERVED and self._runs_on_host(pending)
            return pending.row.phase, runs
        if any(e.migration_id == migration_id and e.state == MigrationPhase.FINISHED for e in self.vc.state.journal(ARRIVAL)):
            return MigrationPhase.FINISHED, True
        if cross:
            for vm in self.vc.state.all(Vm):
                if vm.instance_uuid == instance_uuid and self.vc.state.get(vm.host, Host).name == host_name:
                    return MigrationPhase.FINISHED, True
        return MigrationPhase.UNKNOWN, False

    def recover(self) -> None:
        """After a restart: each arrival of the journal is finished if its host runs the VM, waited for
        if its page stream is still in flight (the source decides), else dropped."""
        for entry in self.vc.state.journal(ARRIVAL):
            row = ArrivalRow.of(entry)
            if row.phase == MigrationPhase.FINISHED:
                continue   # its source's side, in this vCenter, ends it
            host = self.vc.state.get(row.host, Host)
            slot = takes_slot(row.arrival, host.name)
            if slot:
                self.vc.slots.take(host.moid)
            pending = _Pending(row, host, MigrationTarget(host.moid), slot)
            with self._lock:
                self._pending[row.migration_id] = pending
            self._expire_after(pending, self.vc.timeouts.arrival_expiry, "arrival")
            try:
                if pending.streams and self._runs_on_host(pending):
                    self._keep(pending, row.at(MigrationPhase.COMMITTED))
                    self.finish(row.migration_id)
                elif not self._in_flight(pending):
                    self.abort(row.migration_id, f"{self.vc.name} restarted before the switchover")
            except Fault as fault:
                log.warning("arrival %016x not settled yet: %s", row.migration_id, fault)

    def reset(self) -> None:
        """Forgets every arrival and gives its slot back (the vCenter goes back to its first inventory;
        its hosts drop what they held)."""
        with self._lock:
            ids = list(self._pending)
        for migration_id in ids:
            self._forget(migration_id)

    def pending(self) -> list[ArrivalRow]:
        with self._lock:
            return [p.row for p in self._pending.values()]

    # -- disks -----------------------------------------------------------------------------------

    def _new_disk_files(self, row: ArrivalRow) -> dict[str, str]:
        """The disks that change datastore, by label, with their new files here: all of them when the VM
        comes from another vCenter (whose datastores are its own), else those not already on the
        datastore the spec names."""
        files = {}
        for before, after in zip(row.arrival.vm.disks, row.vm.disks, strict=False):
            if row.arrival.cross or before.datastore != after.datastore:
                datastore = self.vc.state.get(after.datastore, Datastore).name
                files[after.label] = self.vc.datastores.disk_path(datastore, row.vm.name, after)
        return files

    def _vsan_keys(self, row: ArrivalRow, moving: dict[str, str]) -> dict[str, bytes]:
        """By label, the vSAN key of the datastore here of each disk that moves (`moving`: from
        `_new_disk_files`), for the host that writes it; b"" for a datastore without vSAN encryption."""
        vsan = VsanKeys(self.vc.state, self.vc.keys)
        return {d.label: vsan.key(d.datastore) for d in row.vm.disks if d.label in moving}

    @staticmethod
    def _name_new_files(spec: MigrationSpec, files: dict[str, str], keys: dict[str, bytes]) -> MigrationSpec:
        """The source named the disks that cross; this vCenter, which owns the datastores here, names
        their new files (and gives their datastores' vSAN keys)."""
        named = sorted(m.label for m in spec.disk_moves)
        if named != sorted(files):
            raise InvalidArgument(f"spec.disk_moves names {', '.join(named) or 'no disk'}, but the disks that change "
                                  f"datastore are {', '.join(sorted(files)) or 'none'}", argument="spec.disk_moves")
        return spec.with_destination_paths(files, keys)

    def _copy_disks(self, row: ArrivalRow, files: dict[str, str], disk_keys: tuple[bytes, ...] = ()) -> None:
        """A plain copy of each disk that changes datastore (NFC: not encrypted, row D2); all or none.
        Each disk is read through the vSAN layer of its datastore at the source (its key in `disk_keys`)
        and written through that of its datastore here, if they have one (row D4)."""
        made: list[str] = []
        vsan = VsanKeys(self.vc.state, self.vc.keys)
        try:
            for i, (disk, after) in enumerate(zip(row.arrival.vm.disks, row.vm.disks, strict=False)):
                if disk.label in files:
                    source = row.arrival.disk_paths[i] if i < len(row.arrival.disk_paths) else ""
                    key = disk_keys[i] if i < len(disk_keys) else b""
                    layers = [vsan_layer(f"disk_vsan_keys[{i}]", key)]
                    try:
                        layers.append(vsan.layer(after.datastore))
                        copy_disk(check_disk_path(f"disk_paths[{i}]", source), files[disk.label], *layers)
                    finally:
                        wipe_all(layers)
                    made.append(files[disk.label])
        except BaseException:
            self.vc.datastores.remove_disks(made)
            raise

    # -- bookkeeping -----------------------------------------------------------------------------

    def _expire(self, migration_id: int) -> None:
        """A reservation never prepared, or an arrival prepared but never committed (its source went
        away): dropped, its slot given back."""
        with self._lock:
            pending = self._pending.get(migration_id)
            if pending is None or pending.row.phase == MigrationPhase.COMMITTED or pending.preparing:
                return
            phase = pending.row.phase
        try:
            self.abort(migration_id, f"not committed within its time ({phase.value})")
        except Fault as fault:
            log.warning("arrival %016x could not expire: %s", migration_id, fault)

    def _expire_after(self, pending: _Pending, seconds: float, what: str) -> None:
        if pending.expiry is not None:
            pending.expiry.cancel()
        migration_id = pending.row.migration_id
        pending.expiry = self.vc.reaper.after(seconds, lambda: self._expire(migration_id), name=f"{what} {migration_id:016x}")

    def _keep(self, pending: _Pending, row: ArrivalRow) -> None:
        with self._lock:
            pending.row = row

    def _agent(self, pending: _Pending) -> HostAgentClient:
        """The destination host as the inventory has it now (it may have come back at another address)."""
        return self.vc.hosts.agent(self.vc.state.get(pending.host.moid, Host))

    def _runs_on_host(self, pending: _Pending) -> bool:
        """The destination host runs the VM, or its END arrived there (then it is starting it)."""
        try:
            agent = self._agent(pending)
            if agent.running().get(pending.row.vm.instance_uuid) == PowerState.POWERED_ON:
                return True
            return agent.migrations().get(pending.row.migration_id) == MigrationPhase.COMPLETED
        except Fault:
            return False

    def _resumed_on_host(self, pending: _Pending, seconds: float) -> bool:
        """Whether the destination host runs the VM, waiting up to `seconds` for its arrival to end there:
        the host's CompleteMigration answers once the arrival has ended, so nothing here polls."""
        if self._runs_on_host(pending):
            return True
        try:
            if self._agent(pending).complete(pending.row.migration_id, timeout=seconds).phase == MigrationPhase.COMPLETED:
                return True
        except Fault as fault:   # NotFound: it ended between the two calls; otherwise the host says no more in time
            log.info("%s: waiting for %s to resume %s: %s", self.vc.name, pending.host.name, pending.row.vm.name, fault)
        return self._runs_on_host(pending)

    def _in_flight(self, pending: _Pending) -> bool:
        try:
            return pending.row.migration_id in self._agent(pending).migrations()
        except Fault:
            return False

    def _get(self, migration_id: int) -> _Pending:
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is None:
            raise NotFound(f"no migration {migration_id:016x} is prepared on {self.vc.name}", object=f"{migration_id:016x}")
        return pending

    def _forget(self, migration_id: int, *, journal_done: bool = False) -> None:
        with self._lock:
            pending = self._pending.pop(migration_id, None)
        if pending is None:
            return
        if pending.expiry is not None:
            pending.expiry.cancel()
        if pending.slot:
            self.vc.slots.release(pending.host.moid)
        if journal_done:
            self.vc.state.update(journal_done=[(ARRIVAL, migration_id)])

    def _event(self, row: ArrivalRow, type_: str, message: str) -> ev.Event:
        a = row.arrival
        host = self.vc.state.get(row.host, Host)
        datacenter = self.vc.state.get(host.datacenter, Datacenter).name
        vm = replace(row.vm, datacenter=host.datacenter)
        return vm_event(self.vc.state, type_, vm, message, host=host.name, user=a.user, chain_id=a.chain_id, arguments={
            "sourceVcenter": a.source_vcenter, "sourceHost": a.source_host, "destHost": host.name, "destDatacenter": datacenter})

    def _post(self, row: ArrivalRow, type_: str, message: str) -> None:
        self.vc.state.update(events=[self._event(row, type_, message)])

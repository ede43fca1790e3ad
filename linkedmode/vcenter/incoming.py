"""The destination side of a migration in one vCenter: check, prepare, commit, abort.

The same code serves a vMotion inside this vCenter and one coming from a linked vCenter over
LinkedMode; only a cross-vCenter arrival adds a new VM to this inventory (with a moid of this vCenter,
the same instance UUID and MACs) and posts the destination's own events.

Disks that change datastore get their new files on this vCenter's datastores: written by the
destination host from the page stream (a live move between hosts), or copied here in the clear before
the commit (a cold move, or a datastore-only move on one host: rows D1, D2).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..model import events as ev
from ..model.events import Event
from ..model.faults import (
    AlreadyExists,
    Fault,
    HostNotConnected,
    InsufficientMemoryResourcesFault,
    InvalidArgument,
    InvalidState,
    MacAddressConflict,
    MigrationFault,
    NotFound,
)
from ..model.inventory import HOST_CONNECTED, HOST_NOT_RESPONDING, Cluster, Datacenter, Datastore, Host, Network, Vm
from ..model.settings import PowerState
from ..model.validation import required, vm_resources
from ..v1 import host_agent_pb2
from ..vmotion.disks import check_disk_path, copy_disk
from .store import JournalEntry

if TYPE_CHECKING:
    from .vcenter import VCenter

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = 2.0
RESUME_WAIT = 10.0
ARRIVAL_EXPIRY_SECONDS = 3600.0   # a live source sends its commit or abort long before: the longest migration
ARRIVAL = "arrival"
PREPARED, COMMITTED, FINISHED, UNKNOWN = "prepared", "committed", "finished", "unknown"
DESTINATION_SLOT_WAIT = 120.0


@dataclass(frozen=True)
class MigrationTarget:
    """Where a VM goes, as a RelocateSpec names it in the destination vCenter."""

    host: str
    datastore: str = ""
    pool: str = ""


@dataclass(frozen=True)
class Arrival:
    """What a source tells the destination about the VM that comes (names are the source's)."""

    vm: Vm
    source_vcenter: str
    source_host: str
    disk_datastores: tuple[str, ...] = ()
    nic_networks: tuple[str, ...] = ()
    hot: bool = True
    encrypted: bool = False
    disk_paths: tuple[str, ...] = ()      # the file of each disk at the source

    def __post_init__(self) -> None:
        required("vm.instance_uuid", self.vm.instance_uuid)
        required("vm.name", self.vm.name)
        vm_resources("vm.", self.vm.memory_mb, self.vm.num_cpu, self.vm.dirty_rate_mbps, self.vm.working_set_mb)

    @property
    def cross(self) -> bool:
        return bool(self.source_vcenter)


@dataclass(frozen=True)
class DiskMove:
    """A disk that changes datastore: its file at the source, its new file here."""

    label: str
    capacity_mb: int
    source: str
    destination: str


def streams(arrival: Arrival, host: Host) -> bool:
    """Does the VM cross on a page stream? Not when it is off, nor when it stays on its host."""
    return arrival.hot and (arrival.cross or host.name != arrival.source_host)


@dataclass
class PendingArrival:
    migration_id: int
    arrival: Arrival
    vm: Vm                 # as it will be here after commit
    host: Host
    committed: bool = False
    started: float = field(default_factory=time.time)
    disk_files: tuple[str, ...] = ()      # the files this arrival made here (removed if it is aborted)

    @property
    def streams(self) -> bool:
        return streams(self.arrival, self.host)

    def journal(self) -> JournalEntry:
        a = self.arrival
        data = {"arrival": {"vm": a.vm.to_row(), "source_vcenter": a.source_vcenter, "source_host": a.source_host,
                            "disk_datastores": list(a.disk_datastores), "nic_networks": list(a.nic_networks),
                            "hot": a.hot, "encrypted": a.encrypted, "disk_paths": list(a.disk_paths)},
                "vm": self.vm.to_row(), "host": self.host.moid}
        return JournalEntry(ARRIVAL, self.migration_id, COMMITTED if self.committed else PREPARED, data)

    @classmethod
    def from_journal(cls, entry: JournalEntry, host: Host) -> PendingArrival:
        a = dict(entry.data["arrival"])
        arrival = Arrival(Vm.from_row(a.pop("vm")), a["source_vcenter"], a["source_host"], tuple(a["disk_datastores"]),
                          tuple(a["nic_networks"]), a["hot"], a["encrypted"], tuple(a.get("disk_paths", ())))
        return cls(entry.migration_id, arrival, Vm.from_row(entry.data["vm"]), host, entry.state == COMMITTED)



class Incoming:
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc
        self._pending: dict[int, PendingArrival] = {}
        self._lock = threading.Lock()

    # -- checks ----------------------------------------------------------------------------------

    def check(self, arrival: Arrival, target: MigrationTarget) -> tuple[Host, Vm]:
        """The destination's checks; returns the target host and the VM as it would be here."""
        state = self.vc.state
        if not target.host:
            raise InvalidArgument("spec.host is required", argument="spec.host")
        host = self._reachable(state.resolve(Host, target.host))
        if target.pool:
            cluster = state.resolve(Cluster, target.pool)
            if host.moid not in cluster.hosts:
                raise InvalidArgument(f"host {host.name} is not in resource pool {cluster.name}", argument="spec.pool")
        datastore = self._datastore(arrival, target, host)
        vm = self._vm_here(arrival, host, datastore)
        self._check_capacity(arrival, host)
        if arrival.cross:
            self._check_identity(vm)
            self._check_key_provider(vm)
        return host, vm

    def _reachable(self, host: Host) -> Host:
        """Asks the host itself (the vpxa heartbeat): a host that does not answer is not a target."""
        try:
            self.vc.hosts.agent(host).about(timeout=HEARTBEAT_TIMEOUT)
        except HostNotConnected:
            if host.connection_state == HOST_CONNECTED:
                self.vc.state.update(put=[replace(host, connection_state=HOST_NOT_RESPONDING)])
            raise HostNotConnected(f"host {host.name} is not responding", object=host.moid) from None
        if host.connection_state != HOST_CONNECTED:
            host = replace(host, connection_state=HOST_CONNECTED)
            self.vc.state.update(put=[host])
        return host

    def _datastore(self, arrival: Arrival, target: MigrationTarget, host: Host) -> Datastore | None:
        state = self.vc.state
        if target.datastore:
            datastore = state.resolve(Datastore, target.datastore)
            if host.moid not in datastore.hosts:
                raise InvalidArgument(f"datastore {datastore.name} is not mounted by host {host.name}", argument="spec.datastore")
            return datastore
        for disk in arrival.vm.disks:
            if disk.datastore not in host.datastores:
                name = state.get(disk.datastore, Datastore).name
                raise InvalidArgument(f"{disk.label} of {arrival.vm.name} is on {name}, which host {host.name} does not mount: "
                                      "give spec.datastore", argument="spec.datastore")
        return None

    def _vm_here(self, arrival: Arrival, host: Host, datastore: Datastore | None) -> Vm:
        vm = arrival.vm
        disks = [replace(d, datastore=datastore.moid) for d in vm.disks] if datastore else list(vm.disks)
        if not arrival.cross:
            return replace(vm, host=host.moid, disks=disks)
        networks = {n.name: n for n in self.vc.state.all(Network) if n.datacenter == host.datacenter}
        nics = []
        for nic, network_name in zip(vm.nics, arrival.nic_networks):
            if network_name not in networks:
                datacenter = self.vc.state.get(host.datacenter, Datacenter).name
                raise InvalidArgument(f"{nic.label} of {vm.name} is on network {network_name!r}, which {datacenter} "
                                      f"of {self.vc.name} does not have", argument="spec.network")
            nics.append(replace(nic, network=networks[network_name].moid))
        return replace(vm, moid="", host=host.moid, datacenter=host.datacenter, disks=disks, nics=nics)

    def _disk_moves(self, arrival: Arrival, vm: Vm) -> list[DiskMove]:
        """The disks that change datastore: all of them when the VM comes from another vCenter (whose
        datastores are its own), else those not already on the datastore the spec names."""
        moves = []
        for i, (before, after) in enumerate(zip(arrival.vm.disks, vm.disks)):
            if arrival.cross or before.datastore != after.datastore:
                datastore = self.vc.state.get(after.datastore, Datastore).name
                source = arrival.disk_paths[i] if i < len(arrival.disk_paths) else ""
                destination = self.vc.datastores.disk_path(datastore, vm.name, after)
                moves.append(DiskMove(after.label, after.capacity_mb, source, destination))
        return moves

    @staticmethod
    def _name_new_files(spec: host_agent_pb2.MigrationSpec, moves: list[DiskMove]) -> None:
        """The source named the disks that cross; this vCenter, which owns the datastores here, names
        their new files."""
        here = {m.label: m for m in moves}
        named = sorted(d.label for d in spec.disk_moves)
        if named != sorted(here):
            raise InvalidArgument(f"spec.disk_moves names {', '.join(named) or 'no disk'}, but the disks that change "
                                  f"datastore are {', '.join(sorted(here)) or 'none'}", argument="spec.disk_moves")
        for disk in spec.disk_moves:
            disk.destination_path = here[disk.label].destination

    def _copy_disks(self, moves: list[DiskMove]) -> None:
        """A plain copy of each disk that changes datastore (NFC: not encrypted, row D2); all or none."""
        made: list[str] = []
        try:
            for i, move in enumerate(moves):
                copy_disk(check_disk_path(f"disk_paths[{i}]", move.source), move.destination)
                made.append(move.destination)
        except BaseException:
            self.vc.datastores.remove_disks(made)
            raise

    def _check_capacity(self, arrival: Arrival, host: Host) -> None:
        if not arrival.hot:
            return
        running = sum(v.memory_mb for v in self.vc.state.all(Vm)
                      if v.host == host.moid and v.power_state == PowerState.POWERED_ON and v.instance_uuid != arrival.vm.instance_uuid)
        with self._lock:
            reserved = sum(p.vm.memory_mb for p in self._pending.values() if p.host.moid == host.moid and not p.committed)
        free = host.memory_mb - running - reserved
        if arrival.vm.memory_mb > free:
            raise InsufficientMemoryResourcesFault(
                f"host {host.name} has {free} MB of memory free; {arrival.vm.name} needs {arrival.vm.memory_mb} MB",
                object=host.moid, unreserved=free, requested=arrival.vm.memory_mb)

    def _check_identity(self, vm: Vm) -> None:
        with self._lock:
            pending = [p.vm for p in self._pending.values()]
        for other in self.vc.state.all(Vm) + pending:
            if other.instance_uuid == vm.instance_uuid:
                raise AlreadyExists(f"{self.vc.name} already has a VM with instance UUID {vm.instance_uuid} ({other.name})",
                                    object=other.moid)
            clash = set(other.mac_addresses) & set(vm.mac_addresses)
            if clash:
                raise MacAddressConflict(
                    f"MAC address {sorted(clash)[0]} of {vm.name} is already used by {other.name} in {self.vc.name}",
                    object=other.moid, mac_address=sorted(clash)[0])

    def _check_key_provider(self, vm: Vm) -> None:
        """Row X6: an encrypted VM needs its key here, from the same key provider."""
        if vm.encrypted and vm.key_provider not in self.vc.spec.key_providers:
            raise MigrationFault(
                f"Unable to decrypt the ciphertext. Failed to decrypt the key: {self.vc.name} has no key provider "
                f"{vm.key_provider!r} (it has {', '.join(self.vc.spec.key_providers) or 'none'})",
                object=vm.name, key_provider=vm.key_provider)

    # -- the migration ---------------------------------------------------------------------------

    def prepare(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                spec: host_agent_pb2.MigrationSpec | None) -> str:
        """Checks again, reserves, gives the destination host the spec (with its key); returns where the
        page stream goes ("" when nothing streams: the disks that change datastore are copied here)."""
        if spec is not None and spec.migration_id != migration_id:
            raise InvalidArgument(f"spec.migration_id {spec.migration_id:016x} is not the migration's id {migration_id:016x}",
                                  argument="spec.migration_id")
        self.vc.faults.at("spec_exchange", arrival.vm.name)
        host, vm = self.check(arrival, target)
        moves = self._disk_moves(arrival, vm)
        if streams(arrival, host):
            if spec is None:
                raise InvalidArgument("a hot migration needs its spec", argument="spec")
            self._name_new_files(spec, moves)
        if arrival.cross:
            vm = replace(vm, moid=self.vc.state.next_moid("vm"))
        pending = PendingArrival(migration_id, arrival, vm, host)
        with self._lock:
            if migration_id in self._pending:
                raise AlreadyExists(f"migration {migration_id:016x} is already prepared here", object=vm.moid)
            self._pending[migration_id] = pending
        try:
            self.vc.vmotion_slots.acquire(host.moid, host.max_concurrent_vmotions, timeout=DESTINATION_SLOT_WAIT)
        except BaseException:
            self._pending.pop(migration_id, None)
            raise
        self.vc.state.update(journal=[pending.journal()])
        expiry = threading.Timer(ARRIVAL_EXPIRY_SECONDS, self._expire, args=(migration_id,))
        expiry.daemon = True
        expiry.start()
        try:
            if pending.streams and spec is not None:
                address = self.vc.hosts.agent(host).prepare_destination(spec)
            else:
                address = ""
                self._copy_disks(moves)
        except BaseException:
            self._forget(migration_id)
            raise
        pending.disk_files = tuple(m.destination for m in moves)
        if arrival.cross:
            self._post(vm, host, arrival, ev.VM_BEING_HOT_MIGRATED if arrival.hot else ev.VM_BEING_MIGRATED,
                       f"Migrating {vm.name} from {arrival.source_host} in {arrival.source_vcenter} to {host.name}")
            if arrival.hot and arrival.encrypted:
                self._post(vm, host, arrival, ev.VM_HOT_MIGRATING_WITH_ENCRYPTION,
                           f"Hot migrating {vm.name} with encryption to {host.name}")
        return address

    def commit(self, migration_id: int) -> str:
        """The switchover is decided: recorded here before the source host sends END. Returns the moid
        the VM will have in this vCenter."""
        pending = self._get(migration_id)
        self.vc.faults.at("commit", pending.vm.name)
        pending.committed = True
        self.vc.state.update(journal=[pending.journal()])
        return pending.vm.moid

    def finish(self, migration_id: int, restart: bool = False) -> Vm:
        """The destination host runs the VM (a cold arrival is registered there now): it joins this
        inventory. `restart`: END is known to have gone through, so if the host lost the VM since (it
        died after the switchover), it starts it again, as vSphere HA would."""
        pending = self._get(migration_id)
        if not pending.committed:
            raise InvalidState(f"migration {migration_id:016x} was not committed", object=pending.vm.moid)
        self.vc.faults.at("resume", pending.vm.name)
        vm, agent = pending.vm, self._agent(pending)
        if pending.arrival.hot:
            if not self._runs_on_host(pending, wait=0.0 if restart else RESUME_WAIT):
                if not restart:
                    raise MigrationFault(f"{vm.name} does not run on {pending.host.name}", object=vm.moid)
                log.warning("%s: %s was lost with %s after the switchover: starting it again there", self.vc.name,
                            vm.name, pending.host.name)
                agent.register(vm)
                agent.power_on(vm)
        else:
            agent.register(vm)
        done = [(ARRIVAL, migration_id)]
        if pending.arrival.cross:
            self.vc.state.update(put=[vm], journal_done=done, events=[self._event(
                vm, pending.host, pending.arrival, ev.VM_MIGRATED,
                f"Migrated {vm.name} from {pending.arrival.source_host} in {pending.arrival.source_vcenter} to {pending.host.name}")])
        else:
            here = self.vc.state.get(vm.moid, Vm)
            self.vc.state.update(put=[replace(here, host=vm.host, disks=vm.disks)], journal_done=done)
        self._forget(migration_id)
        return vm

    def abort(self, migration_id: int, reason: str) -> None:
        """Before the destination host resumed: it drops what it received; nothing joins this inventory."""
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is None:
            return
        if pending.streams and self._runs_on_host(pending):
            raise InvalidState(f"{pending.vm.name} already runs on {pending.host.name}: the migration cannot be undone",
                               object=pending.vm.moid)
        try:
            if pending.streams:
                self._agent(pending).abort(migration_id, reason)
        finally:
            self.vc.datastores.remove_disks(pending.disk_files)
            self.vc.state.update(journal_done=[(ARRIVAL, migration_id)])
            self._forget(migration_id)
            if pending.arrival.cross:
                self._post(pending.vm, pending.host, pending.arrival, ev.VM_FAILED_MIGRATE,
                           f"Failed to migrate {pending.vm.name} to {pending.host.name}: {reason}")

    def _expire(self, migration_id: int) -> None:
        """An arrival prepared but never committed (its source went away): dropped, slot released."""
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is not None and not pending.committed:
            try:
                self.abort(migration_id, f"not committed within {ARRIVAL_EXPIRY_SECONDS:g} s of being prepared")
            except Fault as fault:
                log.warning("arrival %016x could not expire: %s", migration_id, fault)

    def state_of(self, migration_id: int, instance_uuid: str, host_name: str) -> tuple[str, bool]:
        """(prepared | committed | finished | unknown, whether the destination host runs the VM)."""
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is not None:
            runs = pending.streams and self._runs_on_host(pending)
            return (COMMITTED if pending.committed else PREPARED), runs
        for vm in self.vc.state.all(Vm):
            if vm.instance_uuid == instance_uuid and self.vc.state.get(vm.host, Host).name == host_name:
                return FINISHED, True
        return UNKNOWN, False

    def recover(self) -> None:
        """After a restart: each arrival of the journal is finished if its host runs the VM, waited for
        if its page stream is still in flight (the source decides), else dropped."""
        for entry in self.vc.state.journal(ARRIVAL):
            host = self.vc.state.get(entry.data["host"], Host)
            pending = PendingArrival.from_journal(entry, host)
            with self._lock:
                self._pending[entry.migration_id] = pending
            self.vc.vmotion_slots.acquire(host.moid, host.max_concurrent_vmotions, timeout=0.0)
            try:
                if pending.streams and self._runs_on_host(pending):
                    pending.committed = True
                    self.finish(entry.migration_id)
                elif not self._in_flight(pending):
                    self.abort(entry.migration_id, f"{self.vc.name} restarted before the switchover")
            except Fault as fault:
                log.warning("arrival %016x not settled yet: %s", entry.migration_id, fault)

    def _agent(self, pending: PendingArrival):  # type: ignore[no-untyped-def]
        """The destination host as the inventory has it now (it may have come back at another address)."""
        return self.vc.hosts.agent(self.vc.state.get(pending.host.moid, Host))

    def _runs_on_host(self, pending: PendingArrival, wait: float = 0.0) -> bool:
        """The destination host runs the VM, or its END arrived there (then it is starting it)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                agent = self._agent(pending)
                if agent.running().get(pending.vm.instance_uuid) == PowerState.POWERED_ON:
                    return True
                if any(m.migration_id == pending.migration_id and m.phase == host_agent_pb2.MIGRATION_PHASE_COMPLETED
                       for m in agent.migrations()):
                    return True
            except Fault:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _in_flight(self, pending: PendingArrival) -> bool:
        try:
            return any(m.migration_id == pending.migration_id for m in self._agent(pending).migrations())
        except Fault:
            return False

    def pending(self) -> list[PendingArrival]:
        with self._lock:
            return list(self._pending.values())

    def _get(self, migration_id: int) -> PendingArrival:
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is None:
            raise NotFound(f"no migration {migration_id:016x} is prepared on {self.vc.name}", object=f"{migration_id:016x}")
        return pending

    def _forget(self, migration_id: int) -> None:
        with self._lock:
            pending = self._pending.pop(migration_id, None)
        if pending is not None:
            self.vc.vmotion_slots.release(pending.host.moid)

    def _event(self, vm: Vm, host: Host, arrival: Arrival, type_: str, message: str) -> Event:
        datacenter = self.vc.state.get(host.datacenter, Datacenter).name
        return Event(type_, message, vm=vm.moid, vm_name=vm.name, host=host.name, datacenter=datacenter,
                     arguments={"sourceVcenter": arrival.source_vcenter, "sourceHost": arrival.source_host,
                                "destHost": host.name, "destDatacenter": datacenter})

    def _post(self, vm: Vm, host: Host, arrival: Arrival, type_: str, message: str) -> None:
        self.vc.state.update(events=[self._event(vm, host, arrival, type_, message)])

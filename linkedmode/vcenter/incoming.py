"""The destination side of a migration in one vCenter: check, prepare, commit, abort.

The same code serves a vMotion inside this vCenter and one coming from a linked vCenter over
LinkedMode; only a cross-vCenter arrival adds a new VM to this inventory (with a moid of this vCenter,
the same instance UUID and MACs) and posts the destination's own events.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..model import events as ev
from ..model.events import Event
from ..model.faults import (
    AlreadyExists,
    HostNotConnected,
    InsufficientMemoryResourcesFault,
    InvalidArgument,
    MacAddressConflict,
    MigrationFault,
    NotFound,
)
from ..model.inventory import HOST_CONNECTED, HOST_NOT_RESPONDING, Cluster, Datacenter, Datastore, Host, Network, Vm
from ..model.settings import PowerState
from ..v1 import host_agent_pb2

if TYPE_CHECKING:
    from .vcenter import VCenter

HEARTBEAT_TIMEOUT = 2.0
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

    @property
    def cross(self) -> bool:
        return bool(self.source_vcenter)


@dataclass
class PendingArrival:
    migration_id: int
    arrival: Arrival
    vm: Vm                 # as it will be here after commit
    host: Host
    committed: bool = False
    started: float = field(default_factory=time.time)


def _ref(cls_moid_prefix: str, ref: str) -> tuple[str, str]:
    return (ref, "") if ref.startswith(cls_moid_prefix) else ("", ref)


class Incoming:
    def __init__(self, vc: "VCenter") -> None:
        self.vc = vc
        self._pending: dict[int, PendingArrival] = {}
        self._lock = threading.Lock()

    # -- checks ----------------------------------------------------------------------------------

    def check(self, arrival: Arrival, target: MigrationTarget) -> tuple[Host, Vm]:
        """The destination's checks; returns the target host and the VM as it would be here."""
        state = self.vc.state
        if not target.host:
            raise InvalidArgument("spec.host is required", argument="spec.host")
        host = self._reachable(state.find(Host, *_ref("host-", target.host)))
        if target.pool:
            cluster = state.find(Cluster, *_ref("domain-c", target.pool))
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
            datastore = state.find(Datastore, *_ref("datastore-", target.datastore))
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
        page stream goes ("" for a cold move)."""
        self.vc.faults.at("spec_exchange", arrival.vm.name)
        host, vm = self.check(arrival, target)
        if arrival.cross:
            vm = replace(vm, moid=self.vc.state.next_moid("vm"))
        with self._lock:
            if migration_id in self._pending:
                raise AlreadyExists(f"migration {migration_id:016x} is already prepared here", object=vm.moid)
            self._pending[migration_id] = PendingArrival(migration_id, arrival, vm, host)
        try:
            self.vc.vmotion_slots.acquire(host.moid, host.max_concurrent_vmotions, timeout=DESTINATION_SLOT_WAIT)
        except BaseException:
            self._pending.pop(migration_id, None)
            raise
        try:
            address = self.vc.hosts.agent(host).prepare_destination(spec) if arrival.hot and spec is not None else ""
        except BaseException:
            self._forget(migration_id)
            raise
        if arrival.cross:
            self._post(vm, host, arrival, ev.VM_BEING_HOT_MIGRATED if arrival.hot else ev.VM_BEING_MIGRATED,
                       f"Migrating {vm.name} from {arrival.source_host} in {arrival.source_vcenter} to {host.name}")
            if arrival.hot and arrival.encrypted:
                self._post(vm, host, arrival, ev.VM_HOT_MIGRATING_WITH_ENCRYPTION,
                           f"Hot migrating {vm.name} with encryption to {host.name}")
        return address

    def commit(self, migration_id: int) -> Vm:
        """Switchover: the VM belongs here now. A cold arrival is registered on its new host."""
        pending = self._get(migration_id)
        self.vc.faults.at("commit", pending.vm.name)
        vm = pending.vm
        if not pending.arrival.hot:
            self.vc.hosts.agent(pending.host).register(vm)
        pending.committed = True
        if pending.arrival.cross:
            self.vc.state.update(put=[vm], events=[self._event(vm, pending.host, pending.arrival, ev.VM_MIGRATED,
                                 f"Migrated {vm.name} from {pending.arrival.source_host} in {pending.arrival.source_vcenter} "
                                 f"to {pending.host.name}")])
        else:
            self.vc.state.update(put=[replace(self.vc.state.get(vm.moid, Vm), host=vm.host, disks=vm.disks)])
        self._forget(migration_id)
        return vm

    def abort(self, migration_id: int, reason: str) -> None:
        """Before switchover: the destination host drops what it received; nothing joins this inventory."""
        with self._lock:
            pending = self._pending.get(migration_id)
        if pending is None or pending.committed:
            return
        try:
            if pending.arrival.hot:
                self.vc.hosts.agent(pending.host).abort(migration_id, reason)
        finally:
            self._forget(migration_id)
            if pending.arrival.cross:
                self._post(pending.vm, pending.host, pending.arrival, ev.VM_FAILED_MIGRATE,
                           f"Failed to migrate {pending.vm.name} to {pending.host.name}: {reason}")

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

"""Making and destroying VMs: CreateVM_Task and Destroy_Task. Each is a task; every change goes
through VCenterState.update."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TypeVar

from ..migration.journal import ArrivalRow
from ..model.events import Event
from ..model.faults import DuplicateName, InsufficientMemoryResourcesFault, InvalidArgument, InvalidPowerState, NotFound
from ..model.inventory import HOST_CONNECTED, Cluster, Datacenter, Datastore, Disk, Host, Network, Nic, Vm
from ..model.maintenance import check_takes_vms
from ..model.settings import MigrateEncryption, PowerState
from ..model.tasks import CreatedResult, Task
from ..model.validation import required, shown, vm_resources, whole_number
from ..vmotion.disks import MAX_DISK_MB
from .datastores import DatastoreFolders
from .events import vm_event
from .host_client import HostConnections
from .host_memory import free_memory_mb
from .macs import MacPool
from .state import VCenterState
from .tasks import TaskControl, TaskRunner

VM_CREATED = "VmCreatedEvent"
VM_REMOVED = "VmRemovedEvent"
MAX_NAME = 80          # vSphere's longest VM name
MAX_DISKS = 60         # 4 SCSI controllers of 15 disks
MAX_NICS = 10

N = TypeVar("N", Network, Datastore)


@dataclass(frozen=True)
class DiskRequest:
    capacity_mb: int
    datastore: str = ""          # name or moid; empty: the VM's datastore


@dataclass(frozen=True)
class VmCreateSpec:
    """What CreateVM_Task is asked for, references still as the caller gave them (names or moids)."""

    name: str
    datastore: str
    memory_mb: int
    host: str = ""
    cluster: str = ""
    num_cpu: int = 1
    disks: tuple[DiskRequest, ...] = ()
    networks: tuple[str, ...] = ()
    migrate_encryption: MigrateEncryption = MigrateEncryption.OPPORTUNISTIC
    dirty_rate_mbps: float = 0.0
    working_set_mb: int = 0

    def check(self) -> VmCreateSpec:
        """The values alone, before anything is looked up: InvalidArgument naming the field."""
        required("name", self.name)
        if len(self.name) > MAX_NAME:
            raise InvalidArgument(f"name {shown(self.name)} is longer than {MAX_NAME} characters", argument="name")
        if not self.host and not self.cluster:
            raise InvalidArgument("give host or cluster", argument="host")
        required("datastore", self.datastore)
        vm_resources("", self.memory_mb, self.num_cpu, self.dirty_rate_mbps, self.working_set_mb)
        whole_number("number of disks", len(self.disks), 0, MAX_DISKS)
        whole_number("number of nics", len(self.networks), 0, MAX_NICS)
        for i, disk in enumerate(self.disks):
            whole_number(f"disks[{i}].capacity_mb", disk.capacity_mb, 1, MAX_DISK_MB)
        for i, network in enumerate(self.networks):
            required(f"nics[{i}].network", network)
        return self


class VmLifecycle:
    def __init__(self, state: VCenterState, hosts: HostConnections, tasks: TaskRunner, datastores: DatastoreFolders,
                 macs: MacPool, arrivals: Callable[[], list[ArrivalRow]] = list) -> None:
        """`arrivals`: the migrations this vCenter expects now (they hold memory on their hosts)."""
        self.state = state
        self.arrivals = arrivals
        self.hosts = hosts
        self.tasks = tasks
        self.datastores = datastores
        self.macs = macs
        self._naming = threading.Lock()                     # a name's check and its claim, one creation at a time
        self._being_created: set[tuple[str, str]] = set()   # (datacenter, name) of creations under way

    # -- CreateVM_Task ---------------------------------------------------------------------------

    def create(self, spec: VmCreateSpec, user: str) -> Task:
        """Checks the values and finds the datacenter at once; the rest is the task's. Creations in one
        datacenter run side by side; a name is taken from the moment its creation checks it."""
        spec.check()
        placed: Host | Cluster = self.state.resolve(Host, spec.host) if spec.host else self.state.resolve(Cluster, spec.cluster)
        dc = self.state.get(placed.datacenter, Datacenter)

        def work(control: TaskControl) -> CreatedResult:
            with self._naming:
                vm = self._new_vm(spec, dc)
                self._being_created.add((dc.moid, vm.name))
            try:
                host = self.state.get(vm.host, Host)
                paths = self._create_disks(vm)
                try:
                    self.hosts.agent(host).register(vm)
                except BaseException:
                    self.datastores.remove_disks(paths)
                    raise
                message = f"Created virtual machine {vm.name} on {host.name} in {dc.name}"
                self.state.update(put=[vm], events=[vm_event(self.state, VM_CREATED, vm, message, user=user, task=control.key)])
            finally:
                with self._naming:
                    self._being_created.discard((dc.moid, vm.name))
            return CreatedResult(vm.moid, vm.name)

        return self.tasks.submit("Folder.createVm", dc.moid, dc.name, user, work, exclusive=False)

    def _new_vm(self, spec: VmCreateSpec, dc: Datacenter) -> Vm:
        if (dc.moid, spec.name) in self._being_created or any(v.name == spec.name and v.datacenter == dc.moid
                                                               for v in self.state.all(Vm)):
            raise DuplicateName(f"a VM named {spec.name!r} already exists in {dc.name}", object=dc.moid, name=spec.name)
        datastore = self._in_datacenter(Datastore, spec.datastore, dc)
        disk_stores = [self._in_datacenter(Datastore, d.datastore, dc) if d.datastore else datastore
                       for d in spec.disks]
        networks = [self._in_datacenter(Network, name, dc) for name in spec.networks]
        host = self._host(spec, dc, datastore)
        for store in {datastore.moid: datastore, **{s.moid: s for s in disk_stores}}.values():
            if host.moid not in store.hosts:
                raise InvalidArgument(f"host {host.name} does not mount datastore {store.name}", object=store.moid,
                                      argument="datastore")
        macs = self.macs.take(len(networks))
        return Vm(
            self.state.next_moid("vm"), spec.name, instance_uuid=str(uuid.uuid4()), bios_uuid=str(uuid.uuid4()),
            memory_mb=spec.memory_mb, num_cpu=spec.num_cpu, power_state=PowerState.POWERED_OFF,
            migrate_encryption=spec.migrate_encryption, host=host.moid, datacenter=dc.moid,
            disks=[Disk(f"Hard disk {i}", store.moid, d.capacity_mb)
                   for i, (d, store) in enumerate(zip(spec.disks, disk_stores, strict=True), 1)],
            nics=[Nic(f"Network adapter {i}", mac, n.moid) for i, (mac, n) in enumerate(zip(macs, networks, strict=True), 1)],
            dirty_rate_mbps=spec.dirty_rate_mbps, working_set_mb=spec.working_set_mb,
        )

    def _in_datacenter(self, cls: type[N], ref: str, dc: Datacenter) -> N:
        """A datastore or network of the VM's datacenter, by moid or name (names repeat across datacenters)."""
        for found in self.state.all(cls):
            if ref in (found.moid, found.name) and found.datacenter == dc.moid:
                return found
        raise NotFound(f"{self.state.name} has no {cls.kind} {ref!r} in {dc.name}", object=ref)

    def _host(self, spec: VmCreateSpec, dc: Datacenter, datastore: Datastore) -> Host:
        """The host named, or the connected host of the cluster that mounts the datastore and has the
        most memory free (host_memory.py: less its powered-on VMs and the live arrivals coming)."""
        if spec.host:
            host = self.state.resolve(Host, spec.host)
            check_takes_vms(host, f"{spec.name} cannot be created there")
            return host
        cluster = self.state.resolve(Cluster, spec.cluster)
        free = free_memory_mb(self.state, self.arrivals())
        candidates = [self.state.get(moid, Host) for moid in cluster.hosts]
        candidates = [h for h in candidates if h.connection_state == HOST_CONNECTED and not h.in_maintenance_mode
                      and h.moid in datastore.hosts
                      and free[h.moid] >= spec.memory_mb]
        if not candidates:
            raise InsufficientMemoryResourcesFault(
                f"no connected host of {cluster.name} that mounts {datastore.name} has {spec.memory_mb} MB free",
                object=cluster.moid, requested=spec.memory_mb)
        return max(candidates, key=lambda h: (free[h.moid], h.name))

    def _create_disks(self, vm: Vm) -> list[str]:
        paths: list[str] = []
        try:
            for disk in vm.disks:
                store = self.state.get(disk.datastore, Datastore)
                self.datastores.create_folder(store.name)
                paths.append(self.datastores.create_disk(store.name, vm.name, disk))
        except BaseException:
            self.datastores.remove_disks(paths)
            raise
        return paths

    def disk_paths(self, vm: Vm) -> list[str]:
        return [self.datastores.disk_path(self.state.get(d.datastore, Datastore).name, vm.name, d) for d in vm.disks]

    # -- Destroy_Task ----------------------------------------------------------------------------

    def destroy(self, vm: Vm, user: str) -> Task:
        def work(control: TaskControl) -> None:
            current = self.state.get(vm.moid, Vm)
            if current.power_state != PowerState.POWERED_OFF:
                raise InvalidPowerState(
                    f"{current.name} is {current.power_state.value}: power it off before destroying it",
                    object=current.moid, requested_state=PowerState.POWERED_OFF.value, existing_state=current.power_state.value)
            host = self.state.get(current.host, Host)
            with suppress(NotFound):       # the host had already forgotten it (it restarted)
                self.hosts.agent(host).unregister(current)
            message = f"Removed {current.name} on {host.name} from {self._datacenter_name(current)}"
            event: Event = vm_event(self.state, VM_REMOVED, current, message, user=user, task=control.key)
            paths = self.disk_paths(current)
            self.state.update(delete=[current.moid], events=[event])
            self.datastores.remove_disks(paths)

        return self.tasks.submit("VirtualMachine.destroy", vm.moid, vm.name, user, work)

    def _datacenter_name(self, vm: Vm) -> str:
        return self.state.get(vm.datacenter, Datacenter).name if vm.datacenter else ""

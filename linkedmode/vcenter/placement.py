"""Where the VMs of an evacuated host go: the candidate hosts with their free memory, and one choice
per VM, the host with the most memory free that fits it (as DRS places by free capacity).

Pure values in, a plan out: the same choice whether the hosts are this vCenter's or a linked one's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..migration.journal import ArrivalRow
from ..model.faults import InsufficientMemoryResourcesFault, NotFound
from ..model.inventory import HOST_CONNECTED, Cluster, Datastore, Host, Vm
from ..model.settings import PowerState
from .host_memory import free_memory_mb
from .state import VCenterState

# vSphere's limit of concurrent vMotions touching one datastore (the per-datastore cost of 1 out of 128).
DATASTORE_VMOTION_LIMIT = 128


@dataclass(frozen=True)
class DatastoreChoice:
    name: str
    type: str = "local"
    capacity_mb: int = 0


@dataclass
class Candidate:
    """A host VMs may move to, with what is left of its memory as the plan fills it."""

    name: str
    cluster: str                                   # the cluster's name: the resource pool a relocate names
    free_memory_mb: int
    datastores: tuple[DatastoreChoice, ...] = ()
    planned: list[str] = field(default_factory=list)

    def datastore(self, keep: tuple[str, ...] = ()) -> str:
        """The datastore the VM's disks go to: one of `keep` (where they are) when this host mounts it,
        else a shared one before a local one, the largest first."""
        mounted = {d.name for d in self.datastores}
        for name in keep:
            if name in mounted:
                return name
        if not self.datastores:
            raise NotFound(f"host {self.name} mounts no datastore", object=self.name)
        best = max(self.datastores, key=lambda d: (d.type != "local", d.capacity_mb, d.name))
        return best.name


@dataclass(frozen=True)
class Placement:
    vm: str            # moid
    name: str
    host: str          # name of the destination host
    datastore: str     # name
    pool: str          # the destination cluster's name


def place(vms: list[Vm], candidates: list[Candidate], keep: dict[str, tuple[str, ...]] | None = None
          ) -> tuple[list[Placement], dict[str, InsufficientMemoryResourcesFault]]:
    """A destination for each VM, the largest running VMs first, each to the candidate with the most
    memory free after what was planned before it. A powered-off VM takes no memory and goes to the
    host with the most free all the same. `keep`: per VM moid, the datastore names its disks are on.
    Returns the placements and, per VM moid, why a VM fits nowhere."""
    keep = keep or {}
    plan: list[Placement] = []
    unplaced: dict[str, InsufficientMemoryResourcesFault] = {}
    order = sorted(vms, key=lambda v: (v.power_state != PowerState.POWERED_ON, -v.memory_mb, v.name))
    for vm in order:
        needs = vm.memory_mb if vm.power_state == PowerState.POWERED_ON else 0
        fitting = [c for c in candidates if c.free_memory_mb >= needs and c.datastores]
        if not fitting:
            most = max((c.free_memory_mb for c in candidates), default=0)
            unplaced[vm.moid] = InsufficientMemoryResourcesFault(
                f"no host has {needs} MB of memory free for {vm.name} (the most free: {most} MB)",
                object=vm.moid, requested=needs, unreserved=most)
            continue
        best = max(fitting, key=lambda c: (c.free_memory_mb, c.name))
        best.free_memory_mb -= needs
        best.planned.append(vm.moid)
        plan.append(Placement(vm.moid, vm.name, best.name, best.datastore(keep.get(vm.moid, ())), best.cluster))
    return plan, unplaced


def host_candidates(state: VCenterState, arrivals: list[ArrivalRow] | None = None, *, exclude: str = "") -> list[Candidate]:
    """This vCenter's hosts that can take VMs (connected, not in maintenance mode), but `exclude` (a moid),
    each with its free memory (host_memory.py: less its powered-on VMs and the live `arrivals` coming)."""
    free = free_memory_mb(state, arrivals or ())
    clusters = {h: c.name for c in state.all(Cluster) for h in c.hosts}
    datastores = state.all(Datastore)
    found = []
    for host in sorted(state.all(Host), key=lambda h: h.name):
        if host.moid == exclude or host.connection_state != HOST_CONNECTED or host.in_maintenance_mode:
            continue
        mounted = tuple(DatastoreChoice(d.name, d.type, d.capacity_mb) for d in datastores if host.moid in d.hosts)
        found.append(Candidate(host.name, clusters.get(host.moid, ""), free[host.moid], mounted))
    return found

"""Evacuating a host, and maintenance mode: every VM of the host relocated, into other hosts of this
vCenter or of a linked one, as one task with one progress and each VM's outcome in its result.

Destination hosts are chosen by free memory (placement.py). Each move is an ordinary RelocateVM task,
so the vMotion slots of every host it touches queue it (row V8); the batch keeps no more moves running
than the source host has slots, and no more touching one datastore than vSphere's per-datastore limit.
Maintenance mode marks the host first (it takes no new VM from then on), evacuates it, and stays on
only when every VM left; otherwise the host takes VMs again and the task fails naming those that stayed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..crypto.pki import Credential
from ..migration.arrivals import Arrivals
from ..migration.spec import MigrationTarget, RelocateRequest, ServiceLocator
from ..model.events import Event
from ..model.faults import Fault, HostCommunication, InvalidState, NotFound, RequestCanceled
from ..model.inventory import MAINTENANCE_ENTERING, MAINTENANCE_IN, Datacenter, Datastore, Host, Vm
from ..model.migration import MigrationResult, MovePriority
from ..model.tasks import BulkResult, Task, TaskState, VmOutcome
from ..topology.spec import VCenterTimeouts
from .peer_capacity import local_candidates, peer_candidates
from .peers import PeerInfo
from .placement import DATASTORE_VMOTION_LIMIT, Candidate, Placement, place
from .state import VCenterState
from .tasks import TaskControl, TaskRunner

ENTERING_MAINTENANCE = "EnteringMaintenanceModeEvent"
ENTERED_MAINTENANCE = "EnteredMaintenanceModeEvent"
EXIT_MAINTENANCE = "ExitMaintenanceModeEvent"
CANCELED_MAINTENANCE = "CanceledHostMaintenanceEvent"

log = logging.getLogger(__name__)

WAIT_STEP = 0.5   # seconds between looks at the moves when no task changes


class EvacuationParts(Protocol):
    """What an evacuation needs of its vCenter."""

    state: VCenterState
    tasks: TaskRunner
    arrivals: Arrivals
    credential: Credential
    domain: str

    @property
    def name(self) -> str: ...
    @property
    def timeouts(self) -> VCenterTimeouts: ...

    def peers(self) -> list[PeerInfo]: ...
    def relocate_vm(self, vm: Vm, request: RelocateRequest, user: str) -> Task: ...


@dataclass(frozen=True)
class EvacuationSpec:
    host: str                                   # name or moid, in this vCenter
    target_vcenter: str = ""                    # "": this vCenter
    target_hosts: tuple[str, ...] = ()          # names in the target vCenter; empty: any
    priority: MovePriority = MovePriority.DEFAULT


@dataclass
class _Move:
    placement: Placement
    task: str
    datastores: tuple[str, ...]


@dataclass
class _Batch:
    """The moves of one evacuation: waiting, running (by task key) and ended, and the moves running per
    datastore. A move starts only while fewer than `window` run and its datastores are under the limit."""

    pending: deque[Placement]
    window: int
    disks_on: dict[str, tuple[str, ...]]                 # VM moid -> the datastores its disks are on
    running: dict[str, _Move] = field(default_factory=dict)
    outcomes: dict[str, VmOutcome] = field(default_factory=dict)
    on_datastore: dict[str, int] = field(default_factory=dict)

    def next_move(self) -> Placement | None:
        if not self.pending or len(self.running) >= self.window:
            return None
        if any(self.on_datastore.get(d, 0) >= DATASTORE_VMOTION_LIMIT for d in self._touches(self.pending[0])):
            return None
        return self.pending.popleft()

    def started(self, placement: Placement, task: str) -> None:
        touches = self._touches(placement)
        self.running[task] = _Move(placement, task, touches)
        for d in touches:
            self.on_datastore[d] = self.on_datastore.get(d, 0) + 1

    def ended(self, key: str, task: Task) -> None:
        move = self.running.pop(key)
        for d in move.datastores:
            self.on_datastore[d] -= 1
        migration = task.result if isinstance(task.result, MigrationResult) else None
        self.outcomes[move.placement.vm] = VmOutcome(move.placement.vm, move.placement.name, migration=migration, task=key,
                                                     fault=task.error if task.state == TaskState.ERROR else None)

    def cancel_pending(self) -> None:
        for waiting in self.pending:
            self.outcomes[waiting.vm] = VmOutcome(waiting.vm, waiting.name, fault=RequestCanceled("the evacuation was cancelled"))
        self.pending.clear()

    def _touches(self, placement: Placement) -> tuple[str, ...]:
        return tuple(sorted({*self.disks_on.get(placement.vm, ()), placement.datastore}))


class Evacuations:
    def __init__(self, vc: EvacuationParts) -> None:
        self.vc = vc

    # -- the public operations -------------------------------------------------------------------

    def evacuate(self, spec: EvacuationSpec, user: str) -> Task:
        host = self.vc.state.resolve(Host, spec.host)
        peer = self._peer(spec.target_vcenter)

        def work(control: TaskControl) -> BulkResult:
            return self._evacuate(host, spec, peer, control, user)

        return self.vc.tasks.submit("HostSystem.evacuate", host.moid, host.name, user, work, cancelable=True, coordinates=True)

    def enter_maintenance(self, spec: EvacuationSpec, user: str) -> Task:
        host = self.vc.state.resolve(Host, spec.host)
        peer = self._peer(spec.target_vcenter)
        if host.maintenance == MAINTENANCE_IN:
            raise InvalidState(f"host {host.name} is in maintenance mode already", object=host.moid)

        def work(control: TaskControl) -> BulkResult:
            self._mark(host.moid, MAINTENANCE_ENTERING, ENTERING_MAINTENANCE, f"Host {host.name} is entering maintenance mode",
                       user, control)
            try:
                result = self._evacuate(host, spec, peer, control, user)
            except BaseException:
                self._mark(host.moid, "", CANCELED_MAINTENANCE, f"Maintenance mode of {host.name} was canceled", user, control)
                raise
            stayed = [o for o in result.outcomes if not o.succeeded] + self._left_on(host.moid, result)
            if stayed:
                self._mark(host.moid, "", CANCELED_MAINTENANCE, f"Maintenance mode of {host.name} was canceled", user, control)
                first = stayed[0].fault
                raise InvalidState(f"host {host.name} cannot enter maintenance mode: {len(stayed)} VM(s) could not be "
                                   f"evacuated ({', '.join(o.name for o in stayed)})"
                                   + (f"; {stayed[0].name}: {first}" if first else ""),
                                   object=host.moid, vms=",".join(o.name for o in stayed))
            self._mark(host.moid, MAINTENANCE_IN, ENTERED_MAINTENANCE, f"Host {host.name} is in maintenance mode", user, control)
            log.info("host %s is in maintenance mode", host.name)
            return result

        return self.vc.tasks.submit("HostSystem.enterMaintenanceMode", host.moid, host.name, user, work, cancelable=True,
                                    coordinates=True)

    def exit_maintenance(self, ref: str, user: str) -> Task:
        host = self.vc.state.resolve(Host, ref)
        if not host.maintenance:
            raise InvalidState(f"host {host.name} is not in maintenance mode", object=host.moid)

        def work(control: TaskControl) -> None:   # from `entering` too: left so by a vCenter that stopped meanwhile
            if not self.vc.state.get(host.moid, Host).maintenance:
                raise InvalidState(f"host {host.name} is not in maintenance mode", object=host.moid)
            self._mark(host.moid, "", EXIT_MAINTENANCE, f"Host {host.name} has exited maintenance mode", user, control)

        return self.vc.tasks.submit("HostSystem.exitMaintenanceMode", host.moid, host.name, user, work)

    # -- the batch -------------------------------------------------------------------------------

    def _peer(self, name: str) -> PeerInfo | None:
        if not name or name == self.vc.name:
            return None
        peer = next((p for p in self.vc.peers() if p.name == name), None)
        if peer is None:
            raise NotFound(f"{name} is not a vCenter linked with {self.vc.name}", object=name)
        return peer

    def _candidates(self, host: Host, spec: EvacuationSpec, peer: PeerInfo | None) -> list[Candidate]:
        if peer is None:
            found = local_candidates(self.vc.state, self.vc.arrivals.pending(), exclude=host.moid)
        else:
            found = peer_candidates(self.vc.credential, self.vc.domain, peer, self.vc.timeouts.peer_call)
        if spec.target_hosts:
            unknown = sorted(set(spec.target_hosts) - {c.name for c in found})
            if unknown:
                raise NotFound(f"{spec.target_vcenter or self.vc.name} has no host that can take VMs named "
                               f"{', '.join(unknown)}", object=unknown[0])
            found = [c for c in found if c.name in spec.target_hosts]
        if not found:
            raise NotFound(f"{spec.target_vcenter or self.vc.name} has no other connected host that can take VMs", object=host.moid)
        return found

    def _evacuate(self, host: Host, spec: EvacuationSpec, peer: PeerInfo | None, control: TaskControl, user: str) -> BulkResult:
        state = self.vc.state
        vms = sorted((v for v in state.all(Vm) if v.host == host.moid), key=lambda v: v.name)
        if not vms:
            return BulkResult(())
        control.progress(1, f"choosing hosts for {len(vms)} VMs")
        datastore_names = {d.moid: d.name for d in state.all(Datastore)}
        on = {v.moid: tuple(sorted({datastore_names.get(d.datastore, d.datastore) for d in v.disks})) for v in vms}
        plan, unplaced = place(vms, self._candidates(host, spec, peer), keep=on if peer is None else None)
        log.info("evacuating %s: %d VMs to %s, %d fit nowhere", host.name, len(plan), peer.name if peer else self.vc.name,
                 len(unplaced))
        batch = _Batch(deque(plan), window=max(1, host.max_concurrent_vmotions), disks_on=on)
        batch.outcomes.update({moid: VmOutcome(moid, state.get(moid, Vm).name, fault=f) for moid, f in unplaced.items()})
        while batch.pending or batch.running:
            if state.closed:
                raise HostCommunication(f"{self.vc.name} is stopping: the evacuation of {host.name} ends with it", object=host.moid)
            if state.task(control.key).cancel_requested:
                batch.cancel_pending()
            while (placement := batch.next_move()) is not None:
                try:
                    task = self.vc.relocate_vm(state.get(placement.vm, Vm), self._request(placement, spec, peer, on), user)
                except Fault as fault:
                    batch.outcomes[placement.vm] = VmOutcome(placement.vm, placement.name, fault=fault)
                    continue
                batch.started(placement, task.key)
            self._wait(batch.running)
            for key in list(batch.running):
                task = state.task(key)
                if task.state.done:
                    batch.ended(key, task)
            self._progress(control, len(vms), batch.outcomes, batch.running)
        result = BulkResult(tuple(batch.outcomes[v.moid] for v in vms if v.moid in batch.outcomes))
        if state.task(control.key).cancel_requested:
            moved = len(result.outcomes) - result.failed
            raise RequestCanceled(f"the evacuation of {host.name} was cancelled: {moved} of {len(vms)} VMs had moved, "
                                  f"the moves under way ended first", object=host.moid, moved=moved)
        return result

    def _request(self, placement: Placement, spec: EvacuationSpec, peer: PeerInfo | None,
                 on: dict[str, tuple[str, ...]]) -> RelocateRequest:
        if peer is None:
            keep = placement.datastore in on.get(placement.vm, ())
            target = MigrationTarget(placement.host, "" if keep else placement.datastore, "")
            return RelocateRequest(target, None, spec.priority)
        locator = ServiceLocator(peer.instance_uuid, peer.url, peer.thumbprint)
        return RelocateRequest(MigrationTarget(placement.host, placement.datastore, placement.pool), locator, spec.priority)

    def _wait(self, running: dict[str, _Move]) -> None:
        """Until a move ends, or WAIT_STEP passes (progress moves meanwhile)."""
        state = self.vc.state
        if not running:
            return
        deadline = time.monotonic() + WAIT_STEP
        with state.changed:
            while time.monotonic() < deadline and not any(state.task(k).state.done for k in running):
                state.changed.wait(max(0.0, deadline - time.monotonic()))

    def _progress(self, control: TaskControl, total: int, outcomes: dict[str, VmOutcome], running: dict[str, _Move]) -> None:
        moving = sum(self.vc.state.task(k).progress for k in running) / 100
        failed = sum(1 for o in outcomes.values() if not o.succeeded)
        control.progress(int(100 * (len(outcomes) + moving) / total) if total else 100,
                         f"{len(outcomes)} of {total} VMs done ({failed} failed), {len(running)} moving")

    def _left_on(self, host: str, result: BulkResult) -> list[VmOutcome]:
        """VMs on the host that the batch did not know of (none can arrive while it enters maintenance mode)."""
        known = {o.vm for o in result.outcomes}
        return [VmOutcome(v.moid, v.name, fault=InvalidState(f"{v.name} is still on the host", object=v.moid))
                for v in self.vc.state.all(Vm) if v.host == host and v.moid not in known]

    def _mark(self, moid: str, maintenance: str, event_type: str, message: str, user: str, control: TaskControl) -> None:
        with self.vc.state.changed:
            host = self.vc.state.get(moid, Host)
            event = Event(event_type, message, user=user, host=host.name, datacenter=self._datacenter(host), task=control.key)
            self.vc.state.update(put=[replace(host, maintenance=maintenance)], events=[event])

    def _datacenter(self, host: Host) -> str:
        return self.vc.state.get(host.datacenter, Datacenter).name if host.datacenter else ""

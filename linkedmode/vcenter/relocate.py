"""RelocateVM_Task on the source vCenter: one migration, inside this vCenter or to a linked one.

The steps of the design, in order: checks (the destination's first), the encryption decision, fresh
secrets in memory, the spec with the key to the destination vCenter and host, then to the source host,
the page stream (progress into the task), the commit through the destination, the source's copy
dropped. Before the commit any failure puts the VM back on its feet on the source (row V5).

Disks that change datastore cross on the page stream of a live move between hosts; otherwise (a cold
move, a datastore-only move on one host) the destination copies them before the commit. Their files
here are removed once the move is done.
"""

from __future__ import annotations

import secrets as random_source
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..crypto.secrets import MigrationSecrets
from ..model import events as ev
from ..model.encryption import EncryptionDecision, HostEncryptionSupport, decide_encryption
from ..model.events import Event
from ..model.faults import Fault, InvalidArgument, MigrationFault, NotSupported
from ..model.inventory import Datacenter, Datastore, Disk, Host, Vm
from ..model.settings import PowerState
from ..model.tasks import Task, TaskState
from ..model.validation import host_port, required
from ..v1 import host_agent_pb2
from .destinations import Destination, LocalDestination, RemoteDestination, TargetHost, arrival_of
from .host_client import vm_config
from .incoming import Arrival, MigrationTarget
from .locator import ServiceLocator, resolve_locator
from .recovery import COMMITTING, MOVED, OUTGOING, PREPARED, SWITCHED, Outgoing, settle
from .source_host import figures, hot_migrate, migration_spec
from .tasks import TaskControl

if TYPE_CHECKING:
    from .vcenter import VCenter

SWITCHOVER_GOAL_SECONDS = 0.5        # row V2
MAX_SWITCHOVER_SECONDS = 100.0       # row V4


@dataclass(frozen=True)
class RelocateRequest:
    target: MigrationTarget
    service: ServiceLocator | None = None


def check_request(request: RelocateRequest) -> None:
    """What can be refused before a task exists: the shape of the spec (row X3)."""
    if request.service is not None:
        required("spec.service.instance_uuid", request.service.instance_uuid)
        required("spec.service.ssl_thumbprint", request.service.ssl_thumbprint)
        if request.service.url:
            host_port("spec.service.url", request.service.url)
        for field, value in (("host", request.target.host), ("datastore", request.target.datastore), ("pool", request.target.pool)):
            if not value:
                raise InvalidArgument(f"spec.{field} is required when spec.service names another vCenter", argument=f"spec.{field}")
    elif not request.target.host and not request.target.datastore:
        raise InvalidArgument("give spec.host, spec.datastore or both", argument="spec.host")


def relocate(vc: VCenter, vm: Vm, request: RelocateRequest, user: str) -> Task:
    check_request(request)

    def work(control: TaskControl) -> dict[str, str]:
        return _Migration(vc, vm.moid, request, user, control).run()

    return vc.tasks.submit("VirtualMachine.relocate", vm.moid, vm.name, user, work, cancelable=True)


class _Migration:
    def __init__(self, vc: VCenter, moid: str, request: RelocateRequest, user: str, control: TaskControl) -> None:
        self.vc, self.moid, self.request, self.user, self.control = vc, moid, request, user, control
        self.destination_name = vc.name
        self._pages_total = 0

    def run(self) -> dict[str, str]:
        vc = self.vc
        vm = vc.state.get(self.moid, Vm)
        if vm.power_state == PowerState.SUSPENDED:
            raise NotSupported(f"{vm.name} is suspended: power it on or off before moving it", object=vm.moid)
        destination: Destination
        if self.request.service is not None:
            destination = RemoteDestination(vc, resolve_locator(vc, self.request.service))
        else:
            destination = LocalDestination(vc)
        try:
            return self._run(vm, destination)
        finally:
            if isinstance(destination, RemoteDestination):
                destination.close()

    def _run(self, vm: Vm, destination: Destination) -> dict[str, str]:
        vc, control = self.vc, self.control
        self.destination_name = destination.vcenter
        source = vc.state.get(vm.host, Host)
        target = self.request.target
        if not target.host:
            target = replace(target, host=source.moid)
        arrival = arrival_of(vc, vm, cross=destination.remote)
        control.progress(2, f"checking {destination.vcenter}")
        dest_host = destination.check(arrival, target)
        if not destination.remote and dest_host.moid == source.moid and not self.request.target.datastore:
            raise InvalidArgument(f"{vm.name} is already on {source.name}", argument="spec.host")
        decision = decide_encryption(
            vm.migrate_encryption, vm_encrypted=vm.encrypted, powered_on=arrival.hot,
            source=HostEncryptionSupport(source.name, source.encrypted_vmotion_supported, source.version, source.aes_ni),
            destination=dest_host.support,
        )
        arrival = replace(arrival, encrypted=decision.encrypted)
        self._post_start(vm, source, dest_host, destination, decision, arrival.hot)
        control.progress(5, f"waiting for a vMotion slot on {source.name}")
        with vc.vmotion_slots.held(source.moid, source.max_concurrent_vmotions,
                                   on_wait=lambda: vc.state.change_task(control.key, state=TaskState.QUEUED,
                                                                        progress_detail=f"queued: {source.name} runs its maximum of vMotions"),
                                   cancelled=lambda: vc.state.task(control.key).cancel_requested) as waited:
            vc.state.change_task(control.key, state=TaskState.RUNNING)
            figures = self._migrate(vm, source, dest_host, destination, arrival, target, decision)
            figures["queued_ms"] = f"{waited * 1e3:.0f}"
        return self._finish(vm, source, dest_host, destination, decision, figures)

    def _migrate(self, vm: Vm, source: Host, dest_host: TargetHost, destination: Destination, arrival: Arrival,
                 target: MigrationTarget, decision: EncryptionDecision) -> dict[str, str]:
        vc, control = self.vc, self.control
        streams = arrival.hot and (destination.remote or dest_host.moid != source.moid)
        moved = self._moved_disks(vm, destination, target)
        agent = vc.hosts.agent(source)   # before the key exists: nothing to wipe if this fails
        keys = MigrationSecrets.generate() if streams and decision.encrypted else None
        migration_id = keys.migration_id if keys else int.from_bytes(random_source.token_bytes(8), "big")
        journal = Outgoing(migration_id, PREPARED, vm.moid, vm.name, vm.instance_uuid, source.moid, destination.vcenter,
                           dest_host.name, destination.remote, arrival.hot, tuple(path for _, path in moved))
        settings = host_agent_pb2.MigrationSettings(switchover_goal_seconds=SWITCHOVER_GOAL_SECONDS,
                                                    max_switchover_seconds=vc.max_switchover_seconds)
        committed = False
        vc.migration_started(migration_id)

        def record(state: str) -> None:
            nonlocal journal
            journal = replace(journal, state=state)
            vc.state.update(journal=[journal.entry()])

        def commit() -> str:
            nonlocal committed
            record(COMMITTING)
            vc.faults.at("commit", vm.name)
            moid = self._commit(destination, migration_id)
            committed = True
            return moid

        try:
            spec = migration_spec(vm_config(vm), migration_id, keys, source.name, dest_host.name, settings) if streams else None
            if spec is not None:
                spec.disk_moves.extend(host_agent_pb2.DiskMove(label=disk.label, capacity_mb=disk.capacity_mb, source_path=path)
                                       for disk, path in moved)
            control.check_cancelled()
            control.progress(8, f"preparing {dest_host.name}")
            vc.faults.at("spec_exchange", vm.name)
            address = destination.prepare(migration_id, arrival, target, spec)
            record(PREPARED)
            done = {"migration_id": f"{migration_id:016x}", "disks_moved": str(len(moved))}
            if spec is None:
                commit()
                if not arrival.hot:
                    agent.unregister(vm)
                record(SWITCHED)
                moid = destination.finish(migration_id)
                vc.datastores.remove_disks(journal.disk_files)
                return {"vm": moid, **done}
            moid, outcome = hot_migrate(agent, spec, address, on_progress=lambda p: self._progress(p, decision),
                                        commit=commit, switchover_timeout=vc.max_switchover_seconds + 10)
            record(SWITCHED)
            vc.faults.at("source_cleanup", vm.name)
            destination.finish(migration_id)
            vc.datastores.remove_disks(journal.disk_files)
            return {"vm": moid, **done, **figures(outcome)}
        except Fault as fault:
            if committed:
                return self._settle_now(journal, fault)
            self._undo(vm, source, dest_host, destination, agent, migration_id, streams, fault)
            vc.state.update(journal_done=[(OUTGOING, migration_id)])
            raise
        finally:
            vc.migration_ended(migration_id)
            if keys is not None:
                keys.wipe()

    def _moved_disks(self, vm: Vm, destination: Destination, target: MigrationTarget) -> list[tuple[Disk, str]]:
        """The disks that change datastore, with their files here: every disk of a VM that leaves for
        another vCenter (its datastores are its own), else those not on spec.datastore already."""
        vc = self.vc
        if destination.remote:
            moving = list(vm.disks)
        elif target.datastore:
            datastore = vc.state.resolve(Datastore, target.datastore)
            moving = [d for d in vm.disks if d.datastore != datastore.moid]
        else:
            moving = []
        return [(d, vc.datastores.disk_path(vc.state.get(d.datastore, Datastore).name, vm.name, d)) for d in moving]

    def _settle_now(self, journal: Outgoing, fault: Fault) -> dict[str, str]:
        """Past the commit something failed: whoever runs the VM now decides how the migration ends.
        Returns the figures of a move that happened; raises when it did not (or is not known yet)."""
        try:
            outcome = settle(self.vc, journal, fault.message)
        except Fault as unsettled:
            raise MigrationFault(f"the switchover of {journal.name} was committed, then: {fault.message}; it could not be "
                                 f"settled yet ({unsettled.message}): the journal of {self.vc.name} keeps it for later",
                                 object=journal.vm, outcome="unknown") from None
        if outcome != MOVED:
            raise fault   # settled: the VM continues on the source, for the reason the fault gives
        return {"settled": f"moved; the end was confirmed by the destination after: {fault.message}"}

    def _commit(self, destination: Destination, migration_id: int) -> str:
        self.control.progress(95, f"switchover: committing through {destination.vcenter}")
        return destination.commit(migration_id)

    def _progress(self, progress: host_agent_pb2.MigrationProgress, decision: EncryptionDecision) -> None:
        """Task progress from the source host's rounds."""
        control = self.control
        self._pages_total = max(self._pages_total, progress.pages_left)
        done = 1 - progress.pages_left / self._pages_total if self._pages_total else 0
        control.progress(10 + int(80 * done), f"round {progress.round}, {progress.pages_left} pages left, "
                         f"{progress.mbps:.0f} MB/s, {decision.used}" + (f", guest slowed {progress.throttle:.0%}" if progress.throttle else ""))
        control.check_cancelled()

    def _undo(self, vm: Vm, source: Host, dest_host: TargetHost, destination: Destination, agent, migration_id: int,  # type: ignore[no-untyped-def]
              hot: bool, fault: Fault) -> None:
        """Before the commit: the source resumes the VM, the destination drops its copy (row V5)."""
        for step in ((lambda: agent.abort(migration_id, fault.message)) if hot else None,
                     lambda: destination.abort(migration_id, fault.message)):
            if step is None:
                continue
            try:
                step()
            except Fault:
                pass   # that side is gone; it drops what it had on its own
        self._post(ev.VM_FAILED_MIGRATE, vm, source, f"Cannot migrate {vm.name} from {source.name} to {dest_host.name} "
                   f"in {destination.vcenter}: {fault}", dest_host)

    # -- events and the end ----------------------------------------------------------------------

    def _post(self, type_: str, vm: Vm, source: Host, message: str, dest_host: TargetHost) -> None:
        datacenter = self.vc.state.get(vm.datacenter, Datacenter).name
        self.vc.state.update(events=[Event(type_, message, user=self.user, vm=vm.moid, vm_name=vm.name, host=source.name,
                                           datacenter=datacenter, task=self.control.key,
                                           arguments={"destHost": dest_host.name, "destDatacenter": dest_host.datacenter,
                                                      "destVcenter": self.destination_name})])

    def _post_start(self, vm: Vm, source: Host, dest_host: TargetHost, destination: Destination,
                    decision: EncryptionDecision, hot: bool) -> None:
        where = f"{dest_host.name} in {destination.vcenter}"
        self._post(ev.VM_BEING_HOT_MIGRATED if hot else ev.VM_BEING_MIGRATED, vm, source,
                   f"Migrating {vm.name} from {source.name} to {where}", dest_host)
        if hot and decision.encrypted and dest_host.name != source.name:    # on one host nothing crosses (row D1)
            self._post(ev.VM_HOT_MIGRATING_WITH_ENCRYPTION, vm, source,
                       f"Hot migrating {vm.name} from {source.name} to {where} with encryption", dest_host)

    def _finish(self, vm: Vm, source: Host, dest_host: TargetHost, destination: Destination,
                decision: EncryptionDecision, figures: dict[str, str]) -> dict[str, str]:
        vc = self.vc
        if "settled" not in figures:   # settling did this already
            message = f"Migrated {vm.name} from {source.name} to {dest_host.name} in {destination.vcenter}"
            done = [(OUTGOING, int(figures["migration_id"], 16))]
            self._post(ev.VM_MIGRATED, vm, source, message, dest_host)
            if destination.remote:
                vc.block_macs(vm.mac_addresses)
                vc.state.update(delete=[vm.moid], journal_done=done)
            else:
                vc.state.update(journal_done=done)
        return {
            "vcenter": destination.vcenter, "host": dest_host.name, "mode_asked": decision.asked.value,
            "mode_used": decision.used, "fell_back": str(decision.fell_back).lower(), "reason": decision.reason,
            "hot": str(vm.power_state == PowerState.POWERED_ON).lower(), **figures,
        }


"""Settling migrations a vCenter's journal says were in flight: after a failure past the commit, and
when the vCenter starts again. Whoever runs the VM decides: if the destination host runs it, the move
is finished; if not, it is undone and the VM runs on the source (rows V4, V5)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import events as ev
from ..model.events import Event
from ..model.faults import Fault, MigrationFault, NotFound
from ..model.inventory import Datacenter, Host, Vm
from ..model.settings import PowerState
from .destinations import Destination, LocalDestination, RemoteDestination
from .incoming import COMMITTED, FINISHED
from .store import JournalEntry

if TYPE_CHECKING:
    from .vcenter import VCenter

log = logging.getLogger(__name__)

OUTGOING = "outgoing"
PREPARED, COMMITTING, SWITCHED = "prepared", "committing", "switched"
MOVED, STAYED = "moved", "stayed"


@dataclass(frozen=True)
class Outgoing:
    """A journal row of the source vCenter. Never the key."""

    migration_id: int
    state: str
    vm: str                     # moid here
    name: str
    instance_uuid: str
    source_host: str            # moid here
    destination_vcenter: str
    destination_host: str       # name there
    remote: bool
    hot: bool
    disk_files: tuple[str, ...] = ()      # files here of the disks that change datastore: removed once moved

    def entry(self, state: str | None = None) -> JournalEntry:
        data = {k: v for k, v in self.__dict__.items() if k not in ("migration_id", "state")}
        return JournalEntry(OUTGOING, self.migration_id, state or self.state, data)

    @classmethod
    def of(cls, entry: JournalEntry) -> Outgoing:
        return cls(entry.migration_id, entry.state, **entry.data)


def destination_of(vc: VCenter, outgoing: Outgoing) -> Destination:
    if not outgoing.remote:
        return LocalDestination(vc)
    peer = next((p for p in vc.peers() if p.name == outgoing.destination_vcenter), None)
    if peer is None:
        raise NotFound(f"{outgoing.destination_vcenter} is not linked with {vc.name} (yet)", object=outgoing.destination_vcenter)
    return RemoteDestination(vc, peer)


def settle(vc: VCenter, outgoing: Outgoing, reason: str) -> str:
    """Finishes or undoes one migration; returns MOVED or STAYED. Raises a Fault when a side that
    must answer does not (the row stays in the journal for the next try)."""
    destination = destination_of(vc, outgoing)
    try:
        state, runs = destination.state(outgoing.migration_id, outgoing.instance_uuid, outgoing.destination_host)
        source = vc.state.get(outgoing.source_host, Host)
        switched = outgoing.state == SWITCHED and state == COMMITTED   # END went through: the VM is theirs
        if state == FINISHED or runs or switched:
            if state != FINISHED:
                destination.finish(outgoing.migration_id, restart=not runs)
            _drop_source_copy(vc, source, outgoing)
            vc.datastores.remove_disks(outgoing.disk_files)
            finish_at_source(vc, outgoing, f"Migrated {outgoing.name} to {outgoing.destination_host} in "
                             f"{outgoing.destination_vcenter} (settled: {reason})")
            return MOVED
        if outgoing.hot and not _resume_source_copy(vc, source, outgoing, reason):
            raise MigrationFault(f"{outgoing.name} runs neither on {source.name} nor on {outgoing.destination_host}: "
                                 "left in the journal for the next try", object=outgoing.vm)
        try:
            destination.abort(outgoing.migration_id, reason)
        except Fault as fault:
            log.warning("%s: the destination of %016x did not answer the abort: %s", vc.name, outgoing.migration_id, fault)
        vm = vc.state.get(outgoing.vm, Vm)
        vc.state.update(journal_done=[(OUTGOING, outgoing.migration_id)], events=[_event(
            vc, ev.VM_FAILED_MIGRATE, vm, source, f"Cannot migrate {vm.name} to {outgoing.destination_host} in "
            f"{outgoing.destination_vcenter}: {reason}; it continues on {source.name}")])
        return STAYED
    finally:
        if isinstance(destination, RemoteDestination):
            destination.close()


def finish_at_source(vc: VCenter, outgoing: Outgoing, message: str) -> None:
    """The VM left: a cross-vCenter move takes it out of this inventory and blocks its MACs (row X4)."""
    vm = vc.state.get(outgoing.vm, Vm)
    source = vc.state.get(outgoing.source_host, Host)
    event = _event(vc, ev.VM_MIGRATED, vm, source, message)
    done = [(OUTGOING, outgoing.migration_id)]
    if outgoing.remote:
        vc.block_macs(vm.mac_addresses)
        vc.state.update(delete=[vm.moid], events=[event], journal_done=done)
    else:
        vc.state.update(events=[event], journal_done=done)


def recover(vc: VCenter) -> dict[str, str]:
    """At start: every migration of the journal settled (or left for the next try, said in the log)."""
    vc.incoming.recover()
    return settle_unsettled(vc, f"{vc.name} restarted during the migration")


def settle_unsettled(vc: VCenter, reason: str) -> dict[str, str]:
    """Settles each journal row no running task owns: after a restart, or later, once the side that
    did not answer is back. Returns what it settled (migration id -> moved or stayed)."""
    settled: dict[str, str] = {}
    for entry in vc.state.journal(OUTGOING):
        if vc.migration_running(entry.migration_id):
            continue
        outgoing = Outgoing.of(entry)
        try:
            settled[f"{outgoing.migration_id:016x}"] = settle(vc, outgoing, reason)
        except Fault as fault:
            log.warning("%s: migration %016x not settled yet: %s", vc.name, outgoing.migration_id, fault)
    return settled


def _drop_source_copy(vc: VCenter, source: Host, outgoing: Outgoing) -> None:
    agent = vc.hosts.agent(source)
    try:
        agent.complete(outgoing.migration_id)
    except NotFound:
        pass
    if outgoing.instance_uuid in agent.running() and outgoing.hot:
        vm = vc.state.get(outgoing.vm, Vm)
        try:
            agent.power_off(vm)
        except Fault:
            pass
        agent.unregister(vm)


def _resume_source_copy(vc: VCenter, source: Host, outgoing: Outgoing, reason: str) -> bool:
    """Asks the source host to go on with the VM; says whether it runs it."""
    agent = vc.hosts.agent(source)
    try:
        agent.abort(outgoing.migration_id, reason)
    except Fault as fault:
        log.warning("%s: source host %s did not answer the abort of %016x: %s", vc.name, source.name, outgoing.migration_id, fault)
    return agent.running().get(outgoing.instance_uuid) == PowerState.POWERED_ON


def _event(vc: VCenter, type_: str, vm: Vm, source: Host, message: str) -> Event:
    datacenter = vc.state.get(vm.datacenter, Datacenter).name
    return Event(type_, message, vm=vm.moid, vm_name=vm.name, host=source.name, datacenter=datacenter)

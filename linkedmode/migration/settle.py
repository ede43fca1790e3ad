"""How a migration ends at the source vCenter, written once: `finish` (the VM is the destination's) and
`undo` (it goes on at the source), used by the live path and by recovery alike. `settle` decides
between them by asking who runs the VM (rows V4, V5): after a failure past the commit, and for every
journal row a restarted vCenter finds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..model import events as ev
from ..model.faults import Fault, InvalidState, MigrationFault, NotFound
from ..model.inventory import Host, Vm
from ..model.migration import MigrationPhase, MigrationStep
from ..model.settings import PowerState
from ..vcenter.events import vm_event
from .arrivals import Arrivals
from .destinations import Destination, destination_to
from .journal import ARRIVAL, OUTGOING, OutgoingRow
from .ports import VCenterParts

log = logging.getLogger(__name__)


class Settled(StrEnum):
    MOVED = "moved"
    STAYED = "stayed"


@dataclass(frozen=True)
class Who:
    """Who the end's event is attributed to: the task that drove the move (none for recovery)."""

    user: str = ""
    task: str = ""
    chain_id: int = 0           # the first event of the migration (row V14)


def finish(vc: VCenterParts, row: OutgoingRow, destination: Destination, *, destination_finished: bool = False,
           restart: bool = False, who: Who = Who(), note: str = "") -> str:
    """The VM is the destination's: it joins that inventory (unless it did already), the source's copy
    and disk files go, and a move to another vCenter takes it out of this inventory and blocks its MACs
    (row X4). Returns the VM's moid at the destination."""
    moid = row.vm
    if not destination_finished:
        moid = destination.finish(row.migration_id, restart=restart)
    vc.faults.at(MigrationStep.SOURCE_CLEANUP, row.name)
    vm = vc.state.get(row.vm, Vm)
    source = vc.state.get(row.source_host, Host)
    if source.name != row.destination_host or row.remote:
        _drop_source_copy(vc, source, row, vm)
    vc.datastores.remove_disks(row.disk_files)
    message = f"Migrated {row.name} from {source.name} to {row.destination_host} in {row.destination_vcenter}"
    event = _event(vc, ev.VM_MIGRATED, vm, source, row, message + (f" (settled: {note})" if note else ""), who)
    done = [(OUTGOING, row.migration_id)] + ([] if row.remote else [(ARRIVAL, row.migration_id)])   # inside one vCenter: both rows
    if row.remote:
        vc.block_macs(vm.mac_addresses)
        vc.state.update(delete=[vm.moid], events=[event], journal_done=done)
    else:
        vc.state.update(events=[event], journal_done=done)
    return moid


def undo(vc: VCenterParts, row: OutgoingRow, destination: Destination, reason: str, *, confirm: bool = False,
         restart: bool = False, destination_dropped: bool = False, who: Who = Who()) -> None:
    """Before the commit: the source host resumes the VM, the destination drops its copy (row V5).
    `confirm`: the source host must be seen running the VM, else MigrationFault and the row stays for the
    next try (recovery); the live path knows the source host still has it, or went down with it.
    `restart`: the destination never committed (so no END crossed): a source host that lost the VM since
    (it restarted) starts it again once the destination has dropped its copy, as vSphere HA would; one
    still down starts it when it reconnects (the journal row is gone by then)."""
    source = vc.state.get(row.source_host, Host)
    runs = row.hot and _resume_source_copy(vc, source, row, reason)
    if confirm and row.hot and not runs and not restart:
        raise MigrationFault(f"{row.name} runs neither on {source.name} nor on {row.destination_host}: "
                             "left in the journal for the next try", object=row.vm)
    try:
        if not destination_dropped:
            destination.abort(row.migration_id, reason)
    except Fault as fault:
        if confirm and restart and row.hot and not runs:
            raise   # the destination must have dropped its copy before the source starts one
        log.warning("%s: the destination of %016x did not answer the abort: %s", vc.name, row.migration_id, fault)
    if row.hot and not runs and restart:
        runs = _start_on_source(vc, source, row)
    if confirm and row.hot and not runs:
        raise MigrationFault(f"{row.name} runs neither on {source.name} nor on {row.destination_host}: "
                             "left in the journal for the next try", object=row.vm)
    vm = vc.state.get(row.vm, Vm)
    message = (f"Cannot migrate {row.name} from {source.name} to {row.destination_host} in {row.destination_vcenter}: "
               f"{reason}; it continues on {source.name}")
    vc.state.update(journal_done=[(OUTGOING, row.migration_id)], events=[_event(vc, ev.VM_FAILED_MIGRATE, vm, source, row, message, who)])


def settle(vc: VCenterParts, row: OutgoingRow, destination: Destination, reason: str, *,
           who: Who = Who()) -> tuple[Settled, str]:
    """Finishes or undoes one migration, whichever matches who runs the VM; with MOVED, the VM's moid at
    the destination. Raises a Fault when a side that must answer does not (the row stays in the journal
    for the next try)."""
    phase, runs = destination.state(row.migration_id, row.instance_uuid, row.destination_host)
    switched = row.phase == MigrationPhase.SWITCHED and phase == MigrationPhase.COMMITTED   # END went through
    if phase == MigrationPhase.FINISHED or runs or switched:
        moid = finish(vc, row, destination, destination_finished=phase == MigrationPhase.FINISHED, restart=not runs,
                      who=who, note=reason)
        return Settled.MOVED, moid
    never_committed = row.phase != MigrationPhase.SWITCHED and phase in (
        MigrationPhase.UNKNOWN, MigrationPhase.RESERVED, MigrationPhase.PREPARED, MigrationPhase.ABORTED, MigrationPhase.FAILED)
    committed = phase == MigrationPhase.COMMITTED
    if committed:
        # END may be crossing now: the destination drops its copy first (it refuses once its host runs the
        # VM, and then the move is finished), and only then may the source resume its own.
        try:
            destination.abort(row.migration_id, reason)
        except InvalidState:
            moid = finish(vc, row, destination, who=who, note=reason)
            return Settled.MOVED, moid
    undo(vc, row, destination, reason, confirm=True, restart=never_committed, destination_dropped=committed, who=who)
    return Settled.STAYED, ""


def settle_unsettled(vc: VCenterParts, arrivals: Arrivals, reason: str, *,
                     running: Callable[[int], bool] = lambda _: False) -> dict[str, Settled]:
    """Settles each journal row that no running task drives (`running(migration_id)`): after a restart,
    or later, once the side that did not answer is back. Returns what it settled, by migration id."""
    settled: dict[str, Settled] = {}
    for entry in vc.state.journal(OUTGOING):
        if running(entry.migration_id):
            continue
        row = OutgoingRow.of(entry)
        try:
            destination = destination_to(vc, arrivals, row.destination_vcenter)
            try:
                settled[f"{row.migration_id:016x}"] = settle(vc, row, destination, reason)[0]
            finally:
                destination.close()
        except Fault as fault:
            log.warning("%s: migration %016x not settled yet: %s", vc.name, row.migration_id, fault)
    return settled


def _drop_source_copy(vc: VCenterParts, source: Host, row: OutgoingRow, vm: Vm) -> None:
    """The source host forgets the VM (idempotent: after a live switchover it already has)."""
    agent = vc.hosts.agent(source)
    with contextlib.suppress(NotFound):
        agent.complete(row.migration_id)
    if row.instance_uuid in agent.running():
        with contextlib.suppress(Fault):
            agent.power_off(vm)
        agent.unregister(vm)


def _resume_source_copy(vc: VCenterParts, source: Host, row: OutgoingRow, reason: str) -> bool:
    """Asks the source host to go on with the VM; says whether it runs it."""
    try:
        agent = vc.hosts.agent(source)
        with contextlib.suppress(NotFound):   # it never started, or ended already
            agent.abort(row.migration_id, reason)
        return agent.running().get(row.instance_uuid) == PowerState.POWERED_ON
    except Fault as fault:
        log.warning("%s: source host %s did not answer the abort of %016x: %s", vc.name, source.name, row.migration_id, fault)
        return False


def _start_on_source(vc: VCenterParts, source: Host, row: OutgoingRow) -> bool:
    """The source host lost the VM (it restarted): it starts it again; says whether it runs it now."""
    vm = vc.state.get(row.vm, Vm)
    try:
        agent = vc.hosts.agent(source)
        agent.register(vm)
        agent.power_on(vm)
        return agent.running().get(row.instance_uuid) == PowerState.POWERED_ON
    except Fault as fault:
        log.warning("%s: %s could not be started again on %s: %s", vc.name, row.name, source.name, fault)
        return False


def _event(vc: VCenterParts, type_: str, vm: Vm, source: Host, row: OutgoingRow, message: str, who: Who) -> ev.Event:
    return vm_event(vc.state, type_, vm, message, host=source.name, user=who.user, task=who.task,
                    chain_id=who.chain_id or row.chain_id, arguments={
        "destHost": row.destination_host, "destDatacenter": row.destination_datacenter, "destVcenter": row.destination_vcenter})

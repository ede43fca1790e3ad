"""Driving the source host through a hot migration: the calls a vCenter makes, in order.

Shared by the source's state machine and the stream benchmark, so that what is measured is what a
vCenter runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..model.faults import Fault, MigrationFault, SwitchoverUnconfirmed
from ..model.migration import MigrationPhase
from ..vcenter.host_client import HostAgentClient
from .spec import HostOutcome, HostProgress, MigrationSpec

T = TypeVar("T")


def run_page_stream(agent: HostAgentClient, spec: MigrationSpec, destination_vmotion_address: str, *,
                    on_progress: Callable[[HostProgress], None], commit: Callable[[], T],
                    migration_timeout: float, switchover_timeout: float) -> tuple[T, HostOutcome]:
    """Pre-copy and switchover on the source host; `commit` runs once the destination holds a verified
    copy (its answer is returned). A Fault before the commit leaves the VM on the source for the caller
    to clean up; after it, SwitchoverUnconfirmed or the source host's own fault."""
    agent.prepare_source(spec, destination_vmotion_address)
    for progress in agent.migrate(spec.migration_id, migration_timeout):
        if progress.phase == MigrationPhase.READY:
            break
        if progress.phase in (MigrationPhase.FAILED, MigrationPhase.ABORTED):
            raise progress.error or MigrationFault(f"the source host ended the page stream: {progress.phase.value}")
        on_progress(progress)
    else:
        raise MigrationFault("the source host ended the page stream without a result")
    committed = commit()
    try:
        outcome = agent.complete(spec.migration_id, timeout=switchover_timeout)
    except Fault as fault:
        raise SwitchoverUnconfirmed(f"the switchover was committed but the source host did not confirm it: {fault.message}") from None
    if outcome.phase != MigrationPhase.COMPLETED:
        raise outcome.error or MigrationFault(f"the source host ended the switchover: {outcome.phase.value}")
    return committed, outcome

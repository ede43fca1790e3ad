"""Driving the source host through a hot migration: the calls a vCenter makes, in order.

Shared by RelocateVm and the stream benchmark, so that what is measured is what a vCenter runs.
"""

from __future__ import annotations

from collections.abc import Callable

from ..crypto.secrets import MigrationSecrets
from ..model.faults import Fault, MigrationFault
from ..rpc.faults import fault_from_proto
from ..v1 import host_agent_pb2 as pb
from ..v1 import inventory_pb2
from .host_client import HostAgentClient

MIGRATION_TIMEOUT_SECONDS = 3600.0


class SwitchoverUnconfirmed(MigrationFault):
    """The commit went through but the source host did not confirm the end: who runs the VM is unsure."""


def migration_spec(vm: inventory_pb2.VmConfig, migration_id: int, keys: MigrationSecrets | None, source: str,
                   destination: str, settings: pb.MigrationSettings) -> pb.MigrationSpec:
    spec = pb.MigrationSpec(migration_id=migration_id, vm=vm, encrypted=keys is not None, source_host=source,
                            destination_host=destination, settings=settings)
    if keys is not None:
        spec.key, spec.nonce = bytes(keys.key), bytes(keys.nonce_bytes)   # protobuf needs bytes: see crypto/secrets.py
    return spec


def hot_migrate(agent: HostAgentClient, spec: pb.MigrationSpec, destination_vmotion_address: str, *,
                on_progress: Callable[[pb.MigrationProgress], None], commit: Callable[[], str],
                switchover_timeout: float) -> tuple[str, pb.MigrationOutcome]:
    """Pre-copy and switchover on the source host; `commit` runs once the destination holds a verified
    copy (its answer is returned). A Fault before the commit leaves the VM on the source for the caller
    to clean up; after it, SwitchoverUnconfirmed."""
    migration_id = spec.migration_id
    agent.prepare_source(spec, destination_vmotion_address)
    spec.Clear()   # the key went out in it; keep no reference
    for progress in agent.migrate(migration_id, MIGRATION_TIMEOUT_SECONDS):
        if progress.phase == pb.MIGRATION_PHASE_READY:
            break
        if progress.phase in (pb.MIGRATION_PHASE_FAILED, pb.MIGRATION_PHASE_ABORTED):
            raise fault_from_proto(progress.error)
        on_progress(progress)
    else:
        raise MigrationFault("the source host ended the page stream without a result")
    committed = commit()
    try:
        outcome = agent.complete(migration_id, timeout=switchover_timeout)
    except Fault as fault:
        raise SwitchoverUnconfirmed(f"the switchover was committed but the source host did not confirm it: {fault.message}") from None
    if outcome.phase != pb.MIGRATION_PHASE_COMPLETED:
        raise fault_from_proto(outcome.error)   # the source host's own word: the caller settles it
    return committed, outcome


def figures(outcome: pb.MigrationOutcome) -> dict[str, str]:
    """The task result's figures of a hot migration."""
    stats = outcome.stats
    return {
        "encrypted_stream": str(stats.encrypted).lower(), "rounds": str(stats.rounds), "bytes_sent": str(stats.bytes_sent),
        "pages_sent": str(stats.pages_sent), "zero_pages": str(stats.zero_pages), "duration_ms": f"{stats.duration_ms:.1f}",
        "MBps": f"{stats.bytes_sent / max(stats.duration_ms, 1e-3) / 1e3:.1f}", "max_throttle": f"{stats.max_throttle:.2f}",
        "downtime_ms": f"{outcome.downtime_ms:.1f}", "disk_bytes": str(stats.disk_bytes),
    }

"""The words of a migration's life, shared by every part that takes part in it.

`MigrationStep` names the points of the sequence where fault rules act; `MigrationPhase` is where a
migration stands, as a host reports it, as a vCenter journals it and as it crosses the wire (the proto
enum `MigrationPhase` has the same members). Each side uses the phases that concern it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .settings import MigrateEncryption


class PartKind(StrEnum):
    VCENTER = "vcenter"
    HOST = "host"


class MigrationStep(StrEnum):
    """Named steps of one migration, in order, and the kind of part that takes each one by default.

    A rule naming a part goes to that part: the source vCenter also takes spec_exchange (before it sends
    the spec), commit (before it asks the destination to commit) and source_cleanup (after the source
    host dropped its copy, before the inventories change); the destination vCenter takes resume (when
    it takes the VM into its inventory).
    """

    SPEC_EXCHANGE = "spec_exchange"                # the destination vCenter receives the migration spec
    KEY_PUSH_DESTINATION = "key_push_destination"  # the destination host receives the spec with the key
    KEY_PUSH_SOURCE = "key_push_source"            # the source host receives the spec with the key
    PRECOPY_ROUND = "precopy_round"                # the source host ends a pre-copy round
    STUN = "stun"                                  # the source host is about to stun the guest
    FINAL_PAGES = "final_pages"                    # the last pages crossed; the destination verified its copy
    COMMIT = "commit"                              # the destination vCenter commits the switchover
    RESUME = "resume"                              # the destination host resumes the VM
    SOURCE_CLEANUP = "source_cleanup"              # the source host drops its copy

    @property
    def part_kind(self) -> PartKind:
        return PartKind.VCENTER if self in (MigrationStep.SPEC_EXCHANGE, MigrationStep.COMMIT) else PartKind.HOST


class MovePriority(StrEnum):
    """VirtualMachineMovePriority: a queued move of higher priority gets a freed vMotion slot first."""

    LOW = "lowPriority"
    DEFAULT = "defaultPriority"
    HIGH = "highPriority"

    @property
    def rank(self) -> int:
        return (MovePriority.LOW, MovePriority.DEFAULT, MovePriority.HIGH).index(self)


class MigrationPhase(StrEnum):
    """Where one migration stands.

    Hosts: PREPARED -> PRECOPY -> SWITCHOVER -> READY -> COMPLETED, or FAILED / ABORTED.
    Source vCenter (its journal row): PREPARED -> COMMITTING -> SWITCHED, the row removed at the end.
    Destination vCenter: RESERVED (a vMotion slot held, in memory only) -> PREPARED -> COMMITTED (its
    journal row), the row removed once FINISHED.
    UNKNOWN: a side that has never heard of the migration (or forgot it once it ended).
    """

    UNKNOWN = "unknown"
    PREPARED = "prepared"
    PRECOPY = "precopy"
    SWITCHOVER = "switchover"
    READY = "ready"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"
    COMMITTING = "committing"
    COMMITTED = "committed"
    SWITCHED = "switched"
    FINISHED = "finished"
    RESERVED = "reserved"

    @property
    def ended(self) -> bool:
        return self in (MigrationPhase.COMPLETED, MigrationPhase.FAILED, MigrationPhase.ABORTED, MigrationPhase.FINISHED)


@dataclass(frozen=True)
class StreamFigures:
    """The page stream of a hot migration, as the source host measured it."""

    encrypted: bool
    rounds: int
    bytes_sent: int
    pages_sent: int
    zero_pages: int
    duration_ms: float
    max_throttle: float
    downtime_ms: float
    disk_bytes: int

    @property
    def mbps(self) -> float:
        """Megabytes (10^6 bytes) per second."""
        return self.bytes_sent / max(self.duration_ms, 1e-3) / 1e3


@dataclass(frozen=True)
class MigrationResult:
    """What a relocate did: where the VM is now, how it crossed, and the figures of its stream."""

    vm: str                          # its moid where it is now
    vcenter: str
    host: str
    mode_asked: MigrateEncryption
    encrypted: bool                  # whether what crossed was protected
    fell_back: bool
    reason: str
    hot: bool
    migration_id: int
    disks_moved: int
    queued_ms: float = 0.0
    stream: StreamFigures | None = None
    settled: str = ""                # the end was confirmed only by settling, after this failure

"""vMotion: guest memory and workload, pre-copy, switchover, and the page stream between hosts.

No gRPC here: the host agent calls ``OutgoingMigration`` on the source and ``VMotionListener`` /
``IncomingMigration`` on the destination with plain values.
"""

from .convergence import PrecopyPolicy
from .guest import GuestMemory, GuestWorkload
from .precopy import MigrationOptions, MigrationProgress, MigrationResult, OutgoingMigration
from .receiver import IncomingMigration, VMotionListener

__all__ = [
    "GuestMemory", "GuestWorkload", "IncomingMigration", "MigrationOptions", "MigrationProgress",
    "MigrationResult", "OutgoingMigration", "PrecopyPolicy", "VMotionListener",
]

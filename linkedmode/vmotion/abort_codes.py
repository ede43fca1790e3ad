"""What an ABORT frame says: a code from a fixed list, never text.

An ABORT crosses the vMotion network in the clear (it may have to go out before, or instead of, the
frame the peer expects next, so it cannot be sealed in sequence). A code from this list tells the peer
why without telling a tap anything about the guest, the VM or the hosts: the full fault, with its
names, stays in the task of the side that raised it.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from ..model.faults import Fault, HostCommunication, InsufficientMemoryResourcesFault, RequestCanceled, SystemError, Timedout

ABORT_PAYLOAD = struct.Struct(">H")


class AbortCode(IntEnum):
    """Why a side ended the migration. The names of the stream checks are the reasons of stream faults."""

    FAILED = 0                  # any other fault
    CANCELLED = 1
    TIMED_OUT = 2
    CONNECTION_LOST = 3
    INTERNAL = 4
    NOT_PREPARED = 5            # the destination expects no such migration
    BAD_HELLO = 6
    SIZE_MISMATCH = 7
    UNAUTHENTICATED = 8
    REPLAYED = 9
    OUT_OF_SEQUENCE = 10
    FOREIGN_MIGRATION = 11
    SEAL_MISMATCH = 12
    BAD_FRAME = 13              # bad magic, version, kind, flags, lengths or run table
    OUT_OF_BOUNDS = 14
    UNEXPECTED_KIND = 15
    DIGEST_MISMATCH = 16
    DISK_DIGEST_MISMATCH = 17
    UNKNOWN_DISK = 18
    SWITCHOVER_TIMEOUT = 19     # the switchover outlived max_switchover_seconds
    OUT_OF_MEMORY = 20          # the destination cannot back the memory the guest wrote


_SAYS = {
    AbortCode.FAILED: "the migration failed on its side",
    AbortCode.CANCELLED: "the migration was cancelled",
    AbortCode.TIMED_OUT: "a wait timed out",
    AbortCode.CONNECTION_LOST: "the vMotion connection was lost",
    AbortCode.INTERNAL: "an internal error",
    AbortCode.NOT_PREPARED: "the migration was not prepared on that host",
    AbortCode.BAD_HELLO: "the HELLO frame was not acceptable",
    AbortCode.SIZE_MISMATCH: "the memory size differs from what was prepared (pages)",
    AbortCode.UNAUTHENTICATED: "a frame failed authentication",
    AbortCode.REPLAYED: "a frame was replayed",
    AbortCode.OUT_OF_SEQUENCE: "a frame was dropped or reordered (out of sequence)",
    AbortCode.FOREIGN_MIGRATION: "a frame of another migration arrived",
    AbortCode.SEAL_MISMATCH: "a frame was sealed where it must not be, or the reverse",
    AbortCode.BAD_FRAME: "a malformed frame arrived",
    AbortCode.OUT_OF_BOUNDS: "a frame named pages or blocks out of bounds",
    AbortCode.UNEXPECTED_KIND: "a frame arrived out of place",
    AbortCode.DIGEST_MISMATCH: "the memory digest at the checkpoint did not match",
    AbortCode.DISK_DIGEST_MISMATCH: "a disk digest at the checkpoint did not match",
    AbortCode.UNKNOWN_DISK: "a frame carried blocks of an unknown disk",
    AbortCode.SWITCHOVER_TIMEOUT: "the switchover exceeded max_switchover_seconds",
    AbortCode.OUT_OF_MEMORY: "the destination has not the memory free for what the guest wrote",
}

_BAD_FRAME_REASONS = frozenset({"truncated", "bad_magic", "bad_version", "bad_kind", "bad_flags", "oversize",
                                "bad_length", "bad_runs"})


def describe(code: AbortCode) -> str:
    return f"{_SAYS[code]} ({code.name.lower()})"


def abort_code(fault: Fault) -> AbortCode:
    """The code that says why ``fault`` ended the migration."""
    reason = fault.arguments.get("reason", "")
    if reason in _BAD_FRAME_REASONS:
        return AbortCode.BAD_FRAME
    if reason and reason.upper() in AbortCode.__members__:
        return AbortCode[reason.upper()]
    if isinstance(fault, RequestCanceled):
        return AbortCode.CANCELLED
    if isinstance(fault, Timedout):
        return AbortCode.TIMED_OUT
    if isinstance(fault, HostCommunication) or reason == "connection_lost":
        return AbortCode.CONNECTION_LOST
    if isinstance(fault, SystemError):
        return AbortCode.INTERNAL
    if isinstance(fault, InsufficientMemoryResourcesFault):
        return AbortCode.OUT_OF_MEMORY
    return AbortCode.FAILED


def abort_payload(code: AbortCode) -> bytes:
    return ABORT_PAYLOAD.pack(code)


def read_abort_payload(payload: bytes) -> AbortCode:
    """The code of an ABORT payload; an unknown one reads as FAILED."""
    (value,) = ABORT_PAYLOAD.unpack(payload)
    try:
        return AbortCode(value)
    except ValueError:
        return AbortCode.FAILED

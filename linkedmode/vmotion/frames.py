"""The frame format of the page stream (the vMotion network's own protocol, over plain TCP).

Every frame is a fixed 40-byte header followed by ``payload_length`` bytes; the header is what makes
the stream self-delimiting. All integers are big-endian::

    magic      4s   b"vMTN"
    version    u8   1
    kind       u8   FrameKind
    flags      u16  bit 0: payload sealed (AES-256-GCM, header as associated data, 16-byte tag at the end)
    migration  u64  the migration id the frame belongs to
    sequence   u64  0, 1, 2 ... per direction; the receiver takes each number once, in order
    first_page u64  PAGES / ZERO_RUN: the first guest page of the run; DISK: the first 64 KiB block
    page_count u32  PAGES / ZERO_RUN: pages in the run; DISK: blocks in the run; HELLO: pages of the
                    VM; SYNC: the round
    length     u32  payload bytes (a sealed payload includes its tag)

A DISK payload is the disk's number (u32, its place among the disks that change datastore) then the
blocks; it is sealed like a page payload, so an encrypted stream shows neither.

One migration, one connection::

    source -> destination   HELLO, round 0: (PAGES | ZERO_RUN)* SYNC, DISK* (disks changing datastore),
                            rounds 1..n: PAGES* SYNC, stunned: PAGES* CHECKPOINT, then END once the
                            copy is verified
    destination -> source   ACK(synced) per SYNC, ACK(verified) per CHECKPOINT, ACK(resumed) per END
    either way, any time    ABORT (then the connection closes)

Decoding checks only what a header alone can show (magic, version, kind, flags, lengths against the
64 MiB cap and the kind); sequence, migration and authenticity are the stream's checks.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from enum import IntEnum
from typing import NamedTuple

from ..crypto.sealing import TAG_BYTES
from ..model.faults import MigrationFault
from .digest import PAGE_SIZE

MAGIC = b"vMTN"
VERSION = 1
HEADER = struct.Struct(">4sBBHQQQII")
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = 64 << 20
FLAG_SEALED = 0x0001
MAX_CONTROL_PAYLOAD = 1 << 20      # checkpoint (device state), abort reasons, acks: small
DISK_BLOCK = 64 << 10              # the unit of a disk's block map and of DISK frames
DISK_NUMBER = struct.Struct(">I")  # what starts a DISK payload


class FrameKind(IntEnum):
    HELLO = 1          # names the migration, proves the key (its tag), gives the VM's size and digest kind
    PAGES = 2          # a run of guest pages, as bytes
    ZERO_RUN = 3       # a run of pages the guest never wrote: no bytes cross
    CHECKPOINT = 4     # after the last pages, guest stunned: source memory digest, disk digests, device state
    END = 5            # switchover commit: the destination resumes the VM
    ABORT = 6          # either side ends the migration; payload: the reason (never sealed, never secret)
    ACK = 7            # destination -> source: round applied, copy verified, or VM resumed (payload: which)
    SYNC = 8           # end of a pre-copy round: the destination ACKs once it has applied every frame before
    DISK = 9           # a run of a virtual disk's written blocks (holes never cross)


# What an ACK acknowledges (its first payload byte); VERIFIED and RESUMED carry the destination's digest after it.
ACK_SYNCED = 1         # every frame up to a SYNC (the end of a pre-copy round) is applied
ACK_VERIFIED = 2       # the checkpoint digest matched: the destination holds a complete copy
ACK_RESUMED = 3        # END arrived: the VM runs on the destination now


class FrameHeader(NamedTuple):
    kind: FrameKind
    sealed: bool
    migration_id: int
    sequence: int
    first_page: int = 0
    page_count: int = 0
    payload_length: int = 0

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, VERSION, self.kind, FLAG_SEALED if self.sealed else 0, self.migration_id,
                           self.sequence, self.first_page, self.page_count, self.payload_length)


def stream_fault(reason: str, message: str, migration_id: int | None = None) -> MigrationFault:
    """The fault that ends a migration because of what came (or did not come) over the stream."""
    target = f"migration-{migration_id:016x}" if migration_id is not None else ""
    return MigrationFault(message, object=target, reason=reason)


def decode_header(data: bytes | bytearray | memoryview) -> FrameHeader:
    """Parses and checks one header (exactly HEADER_SIZE bytes)."""
    if len(data) < HEADER_SIZE:
        raise stream_fault("truncated", f"truncated frame: {len(data)} of {HEADER_SIZE} header bytes")
    magic, version, kind, flags, migration_id, sequence, first_page, page_count, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise stream_fault("bad_magic", "not a vMotion frame (bad magic): the stream is garbage or out of step")
    if version != VERSION:
        raise stream_fault("bad_version", f"frame version {version} is not supported (expected {VERSION})")
    try:
        frame_kind = FrameKind(kind)
    except ValueError:
        raise stream_fault("bad_kind", f"unknown frame kind {kind}") from None
    if flags & ~FLAG_SEALED:
        raise stream_fault("bad_flags", f"unknown frame flags {flags:#06x}")
    header = FrameHeader(frame_kind, bool(flags & FLAG_SEALED), migration_id, sequence, first_page, page_count, length)
    check_lengths(header)
    return header


def check_lengths(header: FrameHeader) -> None:
    """The payload length a frame of its kind must have (capped, so garbage cannot make us allocate)."""
    length, kind = header.payload_length, header.kind
    if length > MAX_PAYLOAD:
        raise stream_fault("oversize", f"frame {header.sequence} announces {length} payload bytes, over the {MAX_PAYLOAD} cap")
    tag = TAG_BYTES if header.sealed else 0
    if kind is FrameKind.PAGES:
        fits = header.page_count > 0 and length == header.page_count * PAGE_SIZE + tag
    elif kind is FrameKind.ZERO_RUN:
        fits = header.page_count > 0 and length == tag
    elif kind is FrameKind.DISK:
        fits = header.page_count > 0 and length == DISK_NUMBER.size + header.page_count * DISK_BLOCK + tag
    elif kind is FrameKind.END or kind is FrameKind.SYNC:
        fits = length == tag
    elif kind is FrameKind.ABORT:
        fits = not header.sealed and length <= MAX_CONTROL_PAYLOAD
    else:                                   # HELLO, CHECKPOINT, ACK
        fits = tag <= length <= MAX_CONTROL_PAYLOAD
    if not fits:
        raise stream_fault("bad_length", f"{kind.name} frame {header.sequence} has an impossible payload length "
                                         f"({length} bytes for {header.page_count} pages)")


def iter_frames(data: bytes | bytearray | memoryview) -> Iterator[tuple[FrameHeader, memoryview]]:
    """Splits captured stream bytes into frames (for taps and tests); a cut-off last frame is a fault."""
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        header = decode_header(view[offset:offset + HEADER_SIZE])
        end = offset + HEADER_SIZE + header.payload_length
        if end > len(view):
            raise stream_fault("truncated", f"truncated frame {header.sequence}: "
                                            f"{len(view) - offset - HEADER_SIZE} of {header.payload_length} payload bytes")
        yield header, view[offset + HEADER_SIZE:end]
        offset = end

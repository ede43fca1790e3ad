"""The frame format of the page stream (the vMotion network's own protocol, over plain TCP).

Every frame is a fixed 28-byte header followed by ``length`` payload bytes. The header holds only
what framing needs, and is the same in both kinds of stream; all integers are big-endian::

    magic      4s   b"vMTN"
    version    u8   2
    kind       u8   FrameKind
    flags      u16  bit 0: payload sealed (AES-256-GCM, header as associated data, 16-byte tag)
    migration  u64  the migration id the frame belongs to
    sequence   u64  0, 1, 2 ... per direction; the receiver takes each number once, in order
    length     u32  payload bytes (sealed parts include their tags)

Everything about the guest is in the payload, so an encrypted stream shows none of it:

* PAGES and DISK payloads are two parts: a **run table** of fixed size (RUN_TABLE_BYTES), then the
  **body**. The table is a u16 count then entries (first u64, count u32, tag u32), zero-padded: for
  PAGES each entry is a run of guest pages, its tag RUN_PAGES (bytes in the body, in table order) or
  RUN_ZERO (pages the guest never wrote: no bytes); for DISK a run of 64 KiB blocks of the disk whose
  number is the tag. The sender packs runs into a frame until its body is full (1 MiB) or the table
  is, so a frame's length says how many pages or blocks crossed, not which. In an encrypted stream
  the two parts are sealed apart (the table under its own nonces, see crypto/sealing.py), so the
  receiver learns where the pages go before it opens them straight into guest memory.
* HELLO: the checkpoint digest's code (u8), the VM's size in pages (u64) and the chunk map (256
  bytes, see populate.py: which chunks of guest memory the source has written, so the destination backs
  those alone before the pages come; of one size for every guest). SYNC: the round (u32).
  CHECKPOINT: digests and device state. ACK: which step, and a digest. END: empty.
* ABORT: an AbortCode (u16), never sealed and never text: it names no VM, host or page.

One migration, one connection::

    source -> destination   HELLO, round 0: PAGES* SYNC, DISK* (disks changing datastore),
                            rounds 1..n: PAGES* SYNC, stunned: PAGES* CHECKPOINT, then END once the
                            copy is verified
    destination -> source   ACK(synced) per SYNC, ACK(verified) per CHECKPOINT, ACK(resumed) per END
    either way, any time    ABORT (then the connection closes)

Decoding checks only what a header alone can show (magic, version, kind, flags, the length against
the cap and the kind); sequence, migration and authenticity are the stream's checks.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from enum import IntEnum
from typing import NamedTuple

from ..crypto.sealing import TAG_BYTES
from ..model.faults import MigrationFault
from .abort_codes import ABORT_PAYLOAD as ABORT_PAYLOAD
from .digest import PAGE_SIZE

MAGIC = b"vMTN"
VERSION = 2
HEADER = struct.Struct(">4sBBHQQI")
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = 64 << 20
FLAG_SEALED = 0x0001
MAX_CONTROL_PAYLOAD = 1 << 20      # checkpoint (device state) and acks: small
DISK_BLOCK = 64 << 10              # the unit of a disk's block map and of DISK frames
_ZERO_BLOCK = bytes(DISK_BLOCK)
_ZERO_PREFIX = bytes(16)


def is_zero_block(block: memoryview) -> bool:
    """Whether a disk block (at most DISK_BLOCK bytes) is all zeros: its first bytes settle almost every
    block of data; the whole compare (a copy, yet ~40x faster than memoryview's) settles the rest."""
    return block[:16].tobytes() == _ZERO_PREFIX[:len(block)] and bytes(block) == _ZERO_BLOCK[:len(block)]

HELLO = struct.Struct(">BQ256s")   # checkpoint digest code, the VM's pages, its chunk map (populate.py)
ROUND = struct.Struct(">I")        # what a SYNC carries

RUN_TABLE_BYTES = 4096
RUN_COUNT = struct.Struct(">H")
RUN = struct.Struct(">QII")        # first, count, tag
MAX_RUNS = (RUN_TABLE_BYTES - RUN_COUNT.size) // RUN.size
RUN_PAGES = 0                      # PAGES: the run's bytes are in the body
RUN_ZERO = 1                       # PAGES: pages the guest never wrote


class FrameKind(IntEnum):
    HELLO = 1          # names the migration, proves the key (its tag), gives the VM's size and digest kind
    PAGES = 2          # runs of guest pages: a run table, then the bytes of the written ones
    CHECKPOINT = 4     # after the last pages, guest stunned: source memory digest, disk digests, device state
    END = 5            # switchover commit: the destination resumes the VM
    ABORT = 6          # either side ends the migration; payload: an AbortCode (never sealed, never text)
    ACK = 7            # destination -> source: round applied, copy verified, or VM resumed (payload: which)
    SYNC = 8           # end of a pre-copy round: the destination ACKs once it has applied every frame before
    DISK = 9           # runs of virtual disks' written blocks (holes never cross): a run table, then the blocks


# What an ACK acknowledges (its first payload byte); VERIFIED and RESUMED carry the destination's digest after it.
ACK_SYNCED = 1         # every frame up to a SYNC (the end of a pre-copy round) is applied
ACK_VERIFIED = 2       # the checkpoint digest matched: the destination holds a complete copy
ACK_RESUMED = 3        # END arrived: the VM runs on the destination now

_RUN_KINDS = (FrameKind.PAGES, FrameKind.DISK)


class FrameHeader(NamedTuple):
    kind: FrameKind
    sealed: bool
    migration_id: int
    sequence: int
    payload_length: int = 0

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, VERSION, self.kind, FLAG_SEALED if self.sealed else 0, self.migration_id,
                           self.sequence, self.payload_length)


class Run(NamedTuple):
    """One entry of a run table: ``size`` pages (or disk blocks) from ``first``; ``tag`` says what they are."""

    first: int
    size: int
    tag: int = RUN_PAGES


def stream_fault(reason: str, message: str, migration_id: int | None = None) -> MigrationFault:
    """The fault that ends a migration because of what came (or did not come) over the stream."""
    target = f"migration-{migration_id:016x}" if migration_id is not None else ""
    return MigrationFault(message, object=target, reason=reason)


def decode_header(data: bytes | bytearray | memoryview) -> FrameHeader:
    """Parses and checks one header (exactly HEADER_SIZE bytes)."""
    if len(data) < HEADER_SIZE:
        raise stream_fault("truncated", f"truncated frame: {len(data)} of {HEADER_SIZE} header bytes")
    magic, version, kind, flags, migration_id, sequence, length = HEADER.unpack_from(data)
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
    header = FrameHeader(frame_kind, bool(flags & FLAG_SEALED), migration_id, sequence, length)
    check_lengths(header)
    return header


def table_part(sealed: bool) -> int:
    """Bytes of a run table on the wire."""
    return RUN_TABLE_BYTES + (TAG_BYTES if sealed else 0)


def body_length(header: FrameHeader) -> int:
    """Plaintext bytes of a PAGES or DISK frame's body."""
    tag = TAG_BYTES if header.sealed else 0
    return header.payload_length - table_part(header.sealed) - tag


def check_lengths(header: FrameHeader) -> None:
    """The payload length a frame of its kind must have (capped, so garbage cannot make us allocate)."""
    length, kind = header.payload_length, header.kind
    if length > MAX_PAYLOAD:
        raise stream_fault("oversize", f"frame {header.sequence} announces {length} payload bytes, over the {MAX_PAYLOAD} cap")
    tag = TAG_BYTES if header.sealed else 0
    if kind in _RUN_KINDS:
        body = body_length(header)
        fits = body >= 0 and body % (DISK_BLOCK if kind is FrameKind.DISK else PAGE_SIZE) == 0
    elif kind is FrameKind.HELLO:
        fits = length == HELLO.size + tag
    elif kind is FrameKind.SYNC:
        fits = length == ROUND.size + tag
    elif kind is FrameKind.END:
        fits = length == tag
    elif kind is FrameKind.ABORT:
        fits = not header.sealed and length == ABORT_PAYLOAD.size
    else:                                   # CHECKPOINT, ACK
        fits = tag <= length <= MAX_CONTROL_PAYLOAD
    if not fits:
        raise stream_fault("bad_length", f"{kind.name} frame {header.sequence} has an impossible payload length "
                                         f"({length} bytes)")


def pack_runs(runs: Iterable[Run], out: bytearray | memoryview, *, zeroed: bool = False) -> None:
    """Writes a run table (count, entries, zeros to RUN_TABLE_BYTES) into ``out`` (``zeroed``: it holds
    zeros already)."""
    count = 0
    for count, run in enumerate(runs, 1):
        RUN.pack_into(out, RUN_COUNT.size + (count - 1) * RUN.size, *run)
    RUN_COUNT.pack_into(out, 0, count)
    if not zeroed:
        end = RUN_COUNT.size + count * RUN.size
        out[end:RUN_TABLE_BYTES] = bytes(RUN_TABLE_BYTES - end)


def unpack_runs(table: bytes | bytearray | memoryview, header: FrameHeader) -> list[Run]:
    """The runs of an opened table; a count over MAX_RUNS or an empty run is a fault."""
    (count,) = RUN_COUNT.unpack_from(table)
    if count > MAX_RUNS:
        raise stream_fault("bad_runs", f"{header.kind.name} frame {header.sequence} lists {count} runs, "
                                       f"over the {MAX_RUNS} a table holds", header.migration_id)
    runs = [Run(*RUN.unpack_from(table, RUN_COUNT.size + i * RUN.size)) for i in range(count)]
    if any(run.size == 0 for run in runs):
        raise stream_fault("bad_runs", f"{header.kind.name} frame {header.sequence} lists an empty run",
                           header.migration_id)
    return runs


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


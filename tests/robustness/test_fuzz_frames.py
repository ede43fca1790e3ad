"""The page stream's decoder, fuzzed: whatever bytes arrive on the vMotion network, decoding either
gives frames or raises a Fault (MigrationFault, HostCommunication ...), never another exception, and
a reader whose peer hung up always comes to an end.

Inputs are raw bytes, headers built field by field (so that most get past the magic), and streams of
well-formed frames (sealed under a real key, in order) with bytes flipped or cut off.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from robustness_helpers import FUZZ

from linkedmode.crypto.sealing import RUN_TABLES, TAG_BYTES, TO_DESTINATION, FrameSealer
from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.model.faults import Fault, SystemError, Timedout
from linkedmode.vmotion.digest import PAGE_SIZE, SHA256
from linkedmode.vmotion.frames import (
    DISK_BLOCK,
    HEADER,
    HEADER_SIZE,
    HELLO,
    MAGIC,
    RUN_TABLE_BYTES,
    RUN_ZERO,
    VERSION,
    FrameHeader,
    FrameKind,
    Run,
    body_length,
    decode_header,
    iter_frames,
    pack_runs,
)
from linkedmode.vmotion.handshake import VMotionLimits
from linkedmode.vmotion.receiver import VMotionListener
from linkedmode.vmotion.stream import FrameReader

MIGRATION_ID = 0x0123456789ABCDEF


def sealer(direction: int = TO_DESTINATION) -> FrameSealer:
    """A sealer under a fixed test key. Its secrets are wiped at once (the sealer keeps its own copy),
    as every real migration's are: tests elsewhere count the unwiped ones left in the process."""
    secrets = MigrationSecrets(MIGRATION_ID, bytes(range(1, 33)), bytes(range(8)))
    try:
        return FrameSealer(secrets, direction)
    finally:
        secrets.wipe()


def table_sealer() -> FrameSealer:
    return sealer(TO_DESTINATION | RUN_TABLES)


u8, u16, u32, u64 = (st.integers(0, 2**bits - 1) for bits in (8, 16, 32, 64))
small_count = st.integers(0, 3) | u32

headers = st.builds(
    HEADER.pack,
    st.just(MAGIC) | st.binary(min_size=4, max_size=4),
    st.just(VERSION) | u8,
    st.sampled_from([int(k) for k in FrameKind]) | u8,
    st.sampled_from([0, 1]) | u16,
    st.just(MIGRATION_ID) | u64,
    st.integers(0, 3) | u64,
    st.sampled_from([0, TAG_BYTES, HELLO.size, RUN_TABLE_BYTES, RUN_TABLE_BYTES + PAGE_SIZE,
                     RUN_TABLE_BYTES + PAGE_SIZE + 2 * TAG_BYTES, 64 << 20, (64 << 20) + 1]) | small_count,
)


@st.composite
def streams(draw, sealed: bool, first_sequence: int = 0) -> bytes:  # type: ignore[no-untyped-def]
    """Well-formed frames of one migration, in order, then damaged: bytes flipped, the end cut off."""
    out = bytearray()
    kinds = [k for k in FrameKind if k is not FrameKind.ABORT]
    body_sealer, tables = (sealer(), table_sealer()) if sealed else (None, None)
    tag = TAG_BYTES if sealed else 0
    for sequence in range(first_sequence, first_sequence + draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(kinds))
        table, body = b"", b""
        if kind in (FrameKind.PAGES, FrameKind.DISK):
            runs = [Run(draw(st.integers(0, 8)), draw(st.integers(1, 2)), draw(st.sampled_from([0, RUN_ZERO, 3])))
                    for _ in range(draw(st.integers(0, 3)))]
            table_bytes = bytearray(RUN_TABLE_BYTES)
            pack_runs(runs, table_bytes)
            table = bytes(table_bytes)
            unit = DISK_BLOCK if kind is FrameKind.DISK else PAGE_SIZE
            body = bytes(unit * sum(r.size for r in runs if kind is FrameKind.DISK or r.tag != RUN_ZERO))
            size = len(table) + tag + len(body) + tag
        else:
            body = {FrameKind.HELLO: bytes([SHA256.code]) + bytes(8), FrameKind.SYNC: bytes(4),
                    FrameKind.END: b""}.get(kind, draw(st.binary(max_size=64)))
            size = len(body) + tag
        header = FrameHeader(kind, sealed, MIGRATION_ID, sequence, size).pack()
        out += header
        for part, part_sealer in ((table, tables), (body, body_sealer)) if table else ((body, body_sealer),):
            if part_sealer is None:
                out += part
            else:
                sealed_part = bytearray(len(part) + tag)
                part_sealer.seal_into(sequence, header, part, sealed_part)
                out += sealed_part
    for position, value in draw(st.lists(st.tuples(st.integers(0, max(len(out) - 1, 0)), u8), max_size=3)):
        if out:
            out[position] = value
    if draw(st.booleans()):
        out = out[:draw(st.integers(0, len(out)))]
    return bytes(out + draw(st.binary(max_size=48)))


def any_bytes(sealed: bool = False):  # type: ignore[no-untyped-def]
    return st.binary(max_size=200) | st.builds(bytes.__add__, headers, st.binary(max_size=64)) | streams(sealed)


@FUZZ
@given(headers | st.binary(max_size=HEADER_SIZE * 2))
@example(b"")
@example(HEADER.pack(MAGIC, VERSION, FrameKind.PAGES, 0, 1, 0, 2**32 - 1))
def test_decode_header_returns_a_header_or_raises_a_fault(data: bytes) -> None:
    try:
        header = decode_header(data)
    except Fault:
        return
    assert header.pack() == data[:HEADER_SIZE]


@FUZZ
@given(any_bytes())
def test_iter_frames_yields_frames_or_raises_a_fault(data: bytes) -> None:
    try:
        frames = list(iter_frames(data))
    except Fault:
        return
    assert sum(HEADER_SIZE + len(payload) for _, payload in frames) == len(data)


def read_to_the_end(reader: FrameReader) -> None:
    """What a receiver does with each frame, until the stream fails (it must: the peer hung up)."""
    while True:
        header, raw = reader.next_header()
        if header.kind in (FrameKind.PAGES, FrameKind.DISK):
            reader.read_runs(header, raw)
            reader.read_body_into(header, raw, [memoryview(bytearray(body_length(header)))])
        else:
            reader.read_payload(header, raw)


def ends_with_a_fault(data: bytes, sealed: bool, bound: bool) -> Fault:
    ours, theirs = socket.socketpair()
    reader = FrameReader(ours, buffer_bytes=4096)

    def send() -> None:      # from a thread: more than a socket buffer holds must not block the reader
        with theirs, contextlib.suppress(OSError):     # the reader may give up first and close its end
            theirs.sendall(data)

    sender = threading.Thread(target=send)
    try:
        ours.settimeout(5)     # the peer hangs up: a read that waits this long is a hang, and fails below
        if bound:
            reader.bind(MIGRATION_ID, sealer() if sealed else None, table_sealer=table_sealer() if sealed else None)
        sender.start()
        with pytest.raises(Fault) as ended:
            read_to_the_end(reader)
        return ended.value
    finally:
        reader.close()
        ours.close()
        sender.join()


@FUZZ
@given(any_bytes(), st.booleans())
def test_a_plaintext_reader_ends_in_a_fault_whatever_arrives(data: bytes, bound: bool) -> None:
    fault = ends_with_a_fault(data, False, bound)
    assert not isinstance(fault, Timedout), fault


@FUZZ
@given(any_bytes(sealed=True))
def test_an_encrypted_reader_ends_in_a_fault_whatever_arrives(data: bytes) -> None:
    fault = ends_with_a_fault(data, True, bound=True)
    assert not isinstance(fault, Timedout), fault


@pytest.fixture(scope="module")
def listener() -> VMotionListener:
    with VMotionListener(idle_timeout_s=5, limits=VMotionLimits(hello_seconds=5)) as running:
        yield running


GUEST_MB = 1


@FUZZ
@given(streams(False, first_sequence=1) | st.binary(max_size=200))
def test_a_destination_ends_a_stream_it_cannot_take_with_a_fault(listener, frames: bytes) -> None:
    """A prepared destination fed a HELLO and then anything: it fails the migration with a stream fault
    (or, if the bytes make a whole migration, takes it), never with a bug of its own, never hangs."""
    incoming = listener.prepare(None, GUEST_MB, MIGRATION_ID, prefault=False)
    pages = GUEST_MB * (1 << 20) // PAGE_SIZE
    hello = FrameHeader(FrameKind.HELLO, False, MIGRATION_ID, 0, HELLO.size).pack() + HELLO.pack(SHA256.code, pages, b"")
    with socket.create_connection(listener.address) as source:
        try:
            source.sendall(hello + frames)
            source.shutdown(socket.SHUT_WR)
        except OSError:
            pass             # the destination refused the stream before it was all sent
        try:
            incoming.wait(timeout=10)
        except Fault as fault:
            assert not isinstance(fault, (SystemError, Timedout)), fault

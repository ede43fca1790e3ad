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

from linkedmode.crypto.sealing import TAG_BYTES, TO_DESTINATION, FrameSealer
from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.model.faults import Fault, SystemError, Timedout
from linkedmode.vmotion.digest import PAGE_SIZE, SHA256
from linkedmode.vmotion.frames import DISK_BLOCK, HEADER, HEADER_SIZE, MAGIC, VERSION, FrameHeader, FrameKind, decode_header, iter_frames
from linkedmode.vmotion.receiver import VMotionListener
from linkedmode.vmotion.stream import FrameReader

MIGRATION_ID = 0x0123456789ABCDEF


def sealer() -> FrameSealer:
    """A sealer under a fixed test key. Its secrets are wiped at once (the sealer keeps its own copy),
    as every real migration's are: tests elsewhere count the unwiped ones left in the process."""
    secrets = MigrationSecrets(MIGRATION_ID, bytes(range(1, 33)), bytes(range(8)))
    try:
        return FrameSealer(secrets, TO_DESTINATION)
    finally:
        secrets.wipe()


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
    u64,
    small_count,
    st.sampled_from([0, TAG_BYTES, PAGE_SIZE, PAGE_SIZE + TAG_BYTES, 64 << 20, (64 << 20) + 1]) | small_count,
)


@st.composite
def streams(draw, sealer: FrameSealer | None, first_sequence: int = 0) -> bytes:  # type: ignore[no-untyped-def]
    """Well-formed frames of one migration, in order, then damaged: bytes flipped, the end cut off."""
    out = bytearray()
    kinds = [k for k in FrameKind if k is not FrameKind.ABORT]
    for sequence in range(first_sequence, first_sequence + draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(kinds))
        pages = draw(st.integers(1, 2)) if kind in (FrameKind.PAGES, FrameKind.ZERO_RUN, FrameKind.DISK) else draw(st.integers(0, 3))
        size = {FrameKind.PAGES: pages * PAGE_SIZE, FrameKind.ZERO_RUN: 0, FrameKind.END: 0, FrameKind.SYNC: 0,
                FrameKind.DISK: 4 + pages * DISK_BLOCK}.get(kind)
        payload = draw(st.binary(max_size=64)) if size is None else bytes(size)
        tag = TAG_BYTES if sealer else 0
        header = FrameHeader(kind, sealer is not None, MIGRATION_ID, sequence, draw(st.integers(0, 8)), pages, len(payload) + tag).pack()
        if sealer is None:
            out += header + payload
        else:
            sealed = bytearray(len(payload) + tag)
            sealer.seal_into(sequence, header, payload, sealed)
            out += header + sealed
    for position, value in draw(st.lists(st.tuples(st.integers(0, max(len(out) - 1, 0)), u8), max_size=3)):
        if out:
            out[position] = value
    if draw(st.booleans()):
        out = out[:draw(st.integers(0, len(out)))]
    return bytes(out + draw(st.binary(max_size=48)))


def any_bytes(sealer: FrameSealer | None = None):  # type: ignore[no-untyped-def]
    return st.binary(max_size=200) | st.builds(bytes.__add__, headers, st.binary(max_size=64)) | streams(sealer)


@FUZZ
@given(headers | st.binary(max_size=HEADER_SIZE * 2))
@example(b"")
@example(HEADER.pack(MAGIC, VERSION, FrameKind.PAGES, 0, 1, 0, 0, 2**32 - 1, 2**32 - 1))
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
        size = header.payload_length - (TAG_BYTES if header.sealed else 0)
        if header.kind in (FrameKind.PAGES, FrameKind.DISK):
            reader.read_payload_into(header, raw, memoryview(bytearray(size)))
        elif header.kind is FrameKind.ZERO_RUN:
            reader.read_payload_into(header, raw, memoryview(bytearray(0)))
        else:
            reader.read_payload(header, raw)


def ends_with_a_fault(data: bytes, sealer: FrameSealer | None, bound: bool) -> Fault:
    ours, theirs = socket.socketpair()
    reader = FrameReader(ours, buffer_bytes=4096)

    def send() -> None:      # from a thread: more than a socket buffer holds must not block the reader
        with theirs, contextlib.suppress(OSError):     # OSError: the reader gave up first and closed its end
            theirs.sendall(data)

    sender = threading.Thread(target=send)
    try:
        ours.settimeout(5)     # the peer hangs up: a read that waits this long is a hang, and fails below
        if bound:
            reader.bind(MIGRATION_ID, sealer)
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
    fault = ends_with_a_fault(data, None, bound)
    assert not isinstance(fault, Timedout), fault


@FUZZ
@given(any_bytes(sealer()))
def test_an_encrypted_reader_ends_in_a_fault_whatever_arrives(data: bytes) -> None:
    fault = ends_with_a_fault(data, sealer(), bound=True)
    assert not isinstance(fault, Timedout), fault


@pytest.fixture(scope="module")
def listener() -> VMotionListener:
    with VMotionListener(idle_timeout_s=5, hello_timeout_s=5) as running:
        yield running


GUEST_MB = 1


@FUZZ
@given(streams(None, first_sequence=1) | st.binary(max_size=200))
def test_a_destination_ends_a_stream_it_cannot_take_with_a_fault(listener, frames: bytes) -> None:
    """A prepared destination fed a HELLO and then anything: it fails the migration with a stream fault
    (or, if the bytes make a whole migration, takes it), never with a bug of its own, never hangs."""
    incoming = listener.prepare(None, GUEST_MB, MIGRATION_ID, prefault=False)
    pages = GUEST_MB * (1 << 20) // PAGE_SIZE
    hello = FrameHeader(FrameKind.HELLO, False, MIGRATION_ID, 0, 0, pages, 1).pack() + bytes([SHA256.code])
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

"""The frame format: headers round-trip, and garbage is refused with a clear fault, never a crash."""

from __future__ import annotations

import random
import struct

import pytest

from linkedmode.model.faults import MigrationFault
from linkedmode.vmotion.frames import (
    DISK_BLOCK,
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    VERSION,
    FrameHeader,
    FrameKind,
    decode_header,
    iter_frames,
)


def frame(kind: FrameKind = FrameKind.PAGES, sealed: bool = False, pages: int = 2, sequence: int = 5) -> bytes:
    tag = 16 if sealed else 0
    length = {FrameKind.PAGES: pages * 4096, FrameKind.ZERO_RUN: 0, FrameKind.END: 0, FrameKind.SYNC: 0,
              FrameKind.DISK: 4 + pages * DISK_BLOCK}.get(kind, 3) + tag
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    return FrameHeader(kind, sealed, 0xABCDEF, sequence, 1000, pages, length).pack() + payload


def fault_reason(data: bytes) -> str:
    with pytest.raises(MigrationFault) as info:
        list(iter_frames(data))
    return info.value.arguments["reason"]


@pytest.mark.parametrize("kind", list(FrameKind))
@pytest.mark.parametrize("sealed", [False, True])
def test_headers_round_trip(kind: FrameKind, sealed: bool) -> None:
    if kind is FrameKind.ABORT and sealed:
        pytest.skip("ABORT is never sealed")
    data = frame(kind, sealed)
    [(header, payload)] = list(iter_frames(data))
    assert header == decode_header(data[:HEADER_SIZE])
    assert (header.kind, header.sealed, header.migration_id, header.sequence) == (kind, sealed, 0xABCDEF, 5)
    assert bytes(payload) == data[HEADER_SIZE:]
    assert isinstance(payload, memoryview)           # no copy of the payload


def test_header_layout_is_fixed() -> None:
    assert HEADER_SIZE == 40
    raw = frame(FrameKind.ZERO_RUN, pages=9)
    assert raw[:4] == MAGIC and raw[4] == VERSION and raw[5] == FrameKind.ZERO_RUN
    assert struct.unpack(">QQQII", raw[8:40]) == (0xABCDEF, 5, 1000, 9, 0)


def test_bad_magic() -> None:
    assert fault_reason(b"GET / HTTP/1.1\r\n" + bytes(64)) == "bad_magic"


def test_bad_version_kind_and_flags() -> None:
    raw = bytearray(frame())
    raw[4] = 9
    assert fault_reason(bytes(raw)) == "bad_version"
    raw = bytearray(frame())
    raw[5] = 99
    assert fault_reason(bytes(raw)) == "bad_kind"
    raw = bytearray(frame())
    raw[7] |= 0x80
    assert fault_reason(bytes(raw)) == "bad_flags"


def test_oversize_length_is_capped_before_any_allocation() -> None:
    header = HEADER.pack(MAGIC, VERSION, FrameKind.PAGES, 0, 1, 0, 0, 1 << 20, MAX_PAYLOAD + 1)
    assert fault_reason(header) == "oversize"
    with pytest.raises(MigrationFault, match="cap"):
        decode_header(HEADER.pack(MAGIC, VERSION, FrameKind.CHECKPOINT, 0, 1, 0, 0, 0, 0xFFFFFFFF))


@pytest.mark.parametrize("kind, pages, length", [
    (FrameKind.PAGES, 2, 4096), (FrameKind.PAGES, 0, 0), (FrameKind.ZERO_RUN, 3, 4096), (FrameKind.ZERO_RUN, 0, 0),
    (FrameKind.END, 0, 5), (FrameKind.CHECKPOINT, 0, 2 << 20),
    (FrameKind.DISK, 1, DISK_BLOCK), (FrameKind.DISK, 1, 4 + 4096), (FrameKind.DISK, 0, 4)])
def test_lengths_that_do_not_fit_the_kind(kind: FrameKind, pages: int, length: int) -> None:
    header = HEADER.pack(MAGIC, VERSION, kind, 0, 1, 0, 0, pages, length)
    with pytest.raises(MigrationFault) as info:
        decode_header(header)
    assert info.value.arguments["reason"] in {"bad_length", "oversize"}


def test_truncated_header_and_payload() -> None:
    data = frame()
    assert fault_reason(data[:HEADER_SIZE - 1]) == "truncated"
    assert fault_reason(data[:-1]) == "truncated"
    assert fault_reason(data + data[:10]) == "truncated"        # a whole frame, then a cut one


def test_random_garbage_only_ever_raises_migration_faults() -> None:
    rng = random.Random(1)
    good = frame()
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(HEADER_SIZE)] = rng.randrange(256)
        try:
            list(iter_frames(bytes(data)))
        except MigrationFault as fault:
            assert fault.arguments["reason"]

"""The frame format: headers round-trip, run tables round-trip, and garbage is refused with a clear
fault, never a crash."""

from __future__ import annotations

import random
import struct

import pytest

from linkedmode.model.faults import MigrationFault
from linkedmode.vmotion.abort_codes import AbortCode, abort_code, abort_payload, read_abort_payload
from linkedmode.vmotion.frames import (
    DISK_BLOCK,
    HEADER,
    HEADER_SIZE,
    HELLO,
    MAGIC,
    MAX_PAYLOAD,
    MAX_RUNS,
    ROUND,
    RUN_TABLE_BYTES,
    RUN_ZERO,
    VERSION,
    FrameHeader,
    FrameKind,
    Run,
    decode_header,
    iter_frames,
    pack_runs,
    stream_fault,
    unpack_runs,
)


def payload_length(kind: FrameKind, sealed: bool, units: int = 2) -> int:
    tag = 16 if sealed else 0
    if kind is FrameKind.PAGES:
        return RUN_TABLE_BYTES + tag + units * 4096 + tag
    if kind is FrameKind.DISK:
        return RUN_TABLE_BYTES + tag + units * DISK_BLOCK + tag
    return {FrameKind.HELLO: HELLO.size, FrameKind.SYNC: ROUND.size, FrameKind.END: 0,
            FrameKind.ABORT: 2}.get(kind, 3) + tag


def frame(kind: FrameKind = FrameKind.PAGES, sealed: bool = False, sequence: int = 5) -> bytes:
    length = payload_length(kind, sealed)
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    return FrameHeader(kind, sealed, 0xABCDEF, sequence, length).pack() + payload


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


def test_the_header_holds_only_what_framing_needs() -> None:
    """magic, version, kind, flags, migration, sequence, length: no page, block, count or round."""
    assert HEADER_SIZE == 28
    raw = frame(FrameKind.PAGES)
    assert raw[:4] == MAGIC and raw[4] == VERSION and raw[5] == FrameKind.PAGES
    assert struct.unpack(">HQQI", raw[6:28]) == (0, 0xABCDEF, 5, payload_length(FrameKind.PAGES, False))


def test_run_tables_round_trip_at_a_fixed_size() -> None:
    runs = [Run(0, 3), Run(3, 1000, RUN_ZERO), Run(1003, 1)]
    table = bytearray(RUN_TABLE_BYTES)
    pack_runs(runs, table)
    header = FrameHeader(FrameKind.PAGES, False, 1, 0, 0)
    assert unpack_runs(table, header) == runs
    full = bytearray(RUN_TABLE_BYTES)
    pack_runs([Run(i * 2, 1) for i in range(MAX_RUNS)], full)
    assert len(full) == len(table) == RUN_TABLE_BYTES           # one run or MAX_RUNS: the same size
    assert len(unpack_runs(full, header)) == MAX_RUNS


@pytest.mark.parametrize("table, says", [
    (struct.pack(">H", MAX_RUNS + 1), "runs"),
    (struct.pack(">HQII", 1, 7, 0, 0), "empty run"),
])
def test_bad_run_tables(table: bytes, says: str) -> None:
    with pytest.raises(MigrationFault, match=says) as info:
        unpack_runs(table.ljust(RUN_TABLE_BYTES, b"\0"), FrameHeader(FrameKind.PAGES, False, 1, 0, 0))
    assert info.value.arguments["reason"] == "bad_runs"


def test_abort_carries_a_code_and_no_text() -> None:
    raw = frame(FrameKind.ABORT)
    assert decode_header(raw[:HEADER_SIZE]).payload_length == 2
    assert read_abort_payload(abort_payload(AbortCode.UNAUTHENTICATED)) is AbortCode.UNAUTHENTICATED
    assert read_abort_payload(b"\xff\xff") is AbortCode.FAILED                  # unknown codes read as a failure
    with pytest.raises(MigrationFault) as info:
        decode_header(FrameHeader(FrameKind.ABORT, False, 1, 0, 40).pack())     # text does not fit
    assert info.value.arguments["reason"] == "bad_length"
    with pytest.raises(MigrationFault):
        decode_header(FrameHeader(FrameKind.ABORT, True, 1, 0, 18).pack())      # nor does a sealed one


def test_every_fault_maps_to_a_code() -> None:
    assert abort_code(stream_fault("replayed", "frame 3 of vm web-01 on esx-a1 was replayed")) is AbortCode.REPLAYED
    assert abort_code(stream_fault("bad_magic", "x")) is AbortCode.BAD_FRAME
    assert abort_code(MigrationFault("the destination vCenter refused the commit")) is AbortCode.FAILED


def test_bad_magic() -> None:
    assert fault_reason(b"GET / HTTP/1.1\r\n" + bytes(64)) == "bad_magic"


def test_bad_version_kind_and_flags() -> None:
    raw = bytearray(frame())
    raw[4] = 1                      # the format before run tables
    assert fault_reason(bytes(raw)) == "bad_version"
    raw = bytearray(frame())
    raw[5] = 3                      # ZERO_RUN is gone: zero runs are entries of a PAGES frame's table
    assert fault_reason(bytes(raw)) == "bad_kind"
    raw = bytearray(frame())
    raw[7] |= 0x80
    assert fault_reason(bytes(raw)) == "bad_flags"


def test_oversize_length_is_capped_before_any_allocation() -> None:
    header = HEADER.pack(MAGIC, VERSION, FrameKind.PAGES, 0, 1, 0, MAX_PAYLOAD + 1)
    assert fault_reason(header) == "oversize"
    with pytest.raises(MigrationFault, match="cap"):
        decode_header(HEADER.pack(MAGIC, VERSION, FrameKind.CHECKPOINT, 0, 1, 0, 0xFFFFFFFF))


@pytest.mark.parametrize("kind, length", [
    (FrameKind.PAGES, RUN_TABLE_BYTES + 4095), (FrameKind.PAGES, RUN_TABLE_BYTES - 1), (FrameKind.PAGES, 0),
    (FrameKind.HELLO, HELLO.size + 1), (FrameKind.SYNC, 0), (FrameKind.END, 5), (FrameKind.CHECKPOINT, 2 << 20),
    (FrameKind.DISK, RUN_TABLE_BYTES + 4096), (FrameKind.DISK, 4)])
def test_lengths_that_do_not_fit_the_kind(kind: FrameKind, length: int) -> None:
    header = HEADER.pack(MAGIC, VERSION, kind, 0, 1, 0, length)
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

"""A destination checks every run table before a byte of the body lands: runs out of the VM's bounds,
overlapping or out of order, of an unknown kind or disk, or not matching the frame's length end the
migration with a fault that says which, and the source is told with a code."""

from __future__ import annotations

import socket

import pytest

from linkedmode.model.faults import MigrationFault
from linkedmode.vmotion import VMotionListener
from linkedmode.vmotion.abort_codes import AbortCode, read_abort_payload
from linkedmode.vmotion.digest import PAGE_SIZE, SHA256
from linkedmode.vmotion.frames import (
    DISK_BLOCK,
    HEADER_SIZE,
    HELLO,
    RUN_TABLE_BYTES,
    RUN_ZERO,
    FrameHeader,
    FrameKind,
    Run,
    decode_header,
    pack_runs,
)

MIGRATION = 0x5EED
PAGES = 256                     # a 1 MB VM


def pages_frame(runs: list[Run], body_pages: int, kind: FrameKind = FrameKind.PAGES, unit: int = PAGE_SIZE) -> bytes:
    table = bytearray(RUN_TABLE_BYTES)
    pack_runs(runs, table)
    body = bytes(body_pages * unit)
    return FrameHeader(kind, False, MIGRATION, 1, len(table) + len(body)).pack() + bytes(table) + body


def send_after_hello(listener: VMotionListener, frame: bytes) -> tuple[MigrationFault, AbortCode]:
    incoming = listener.prepare(None, 1, MIGRATION, prefault=False)
    hello = FrameHeader(FrameKind.HELLO, False, MIGRATION, 0, HELLO.size).pack() + HELLO.pack(SHA256.code, PAGES, b"")
    with socket.create_connection(listener.address, timeout=5) as source:
        source.sendall(hello + frame)
        answer = b""
        while chunk := source.recv(1 << 16):
            answer += chunk
    header = decode_header(answer[:HEADER_SIZE])
    assert header.kind is FrameKind.ABORT
    with pytest.raises(MigrationFault) as ended:
        incoming.wait(5)
    assert incoming.memory is None
    return ended.value, read_abort_payload(answer[HEADER_SIZE:HEADER_SIZE + header.payload_length])


@pytest.mark.parametrize("runs, body_pages, reason, says", [
    ([Run(250, 10)], 10, "out_of_bounds", "names pages 250..260, beyond the VM's 256"),
    ([Run(0, 4), Run(2, 4)], 8, "bad_runs", "its runs overlap, are out of order or of an unknown kind"),
    ([Run(8, 1), Run(0, 1)], 2, "bad_runs", "its runs overlap, are out of order"),
    ([Run(0, 1, tag=7)], 1, "bad_runs", "of an unknown kind"),
    ([Run(0, 4)], 3, "bad_runs", "its runs do not match its length"),
    ([Run(0, 4, RUN_ZERO)], 1, "bad_runs", "its runs do not match its length"),
], ids=["beyond the VM", "overlapping", "out of order", "unknown kind", "short body", "bytes for a zero run"])
def test_a_bad_run_table_ends_the_migration_and_says_why(listener: VMotionListener, runs: list[Run], body_pages: int,
                                                        reason: str, says: str) -> None:
    fault, code = send_after_hello(listener, pages_frame(runs, body_pages))
    assert fault.arguments["reason"] == reason and says in fault.message, fault
    assert code is (AbortCode.OUT_OF_BOUNDS if reason == "out_of_bounds" else AbortCode.BAD_FRAME)


def test_blocks_of_a_disk_the_migration_does_not_move(listener: VMotionListener) -> None:
    fault, code = send_after_hello(listener, pages_frame([Run(0, 1, tag=2)], 1, FrameKind.DISK, DISK_BLOCK))
    assert fault.arguments["reason"] == "unknown_disk"
    assert "carries blocks of disk 2; this migration moves 0" in fault.message
    assert code is AbortCode.UNKNOWN_DISK

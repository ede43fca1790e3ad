"""One direction of a page stream, writer to reader over a socket pair: frames of every size and shape,
batched as the writer batches them, arrive whole and open in order (encrypted or not)."""

from __future__ import annotations

import random
import socket
import threading

import pytest
from vmotion_helpers import secrets_pair

from linkedmode.crypto.sealing import RUN_TABLES, TO_DESTINATION, FrameSealer
from linkedmode.vmotion.digest import PAGE_SIZE
from linkedmode.vmotion.frames import MAX_RUNS, RUN_ZERO, FrameKind, Run
from linkedmode.vmotion.packing import RunPacker
from linkedmode.vmotion.stream import FrameReader, FrameWriter

PAGES = 4096


def random_runs(rng: random.Random) -> list[tuple[int, int, int]]:
    """(first, count, tag) runs in order over PAGES pages: long and short, written and zero."""
    runs, page = [], 0
    while page < PAGES:
        count = min(rng.choice([1, 2, 3, 7, 40, 255, 256, 300, 700]), PAGES - page)
        runs.append((page, count, rng.choice([0, 0, RUN_ZERO])))
        page += count + rng.choice([0, 1, 5])
    return runs


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_packed_frames_of_every_shape_arrive_whole(encrypted: bool, seed: int) -> None:
    rng = random.Random(seed)
    source = bytes(rng.getrandbits(8) for _ in range(256)) * (PAGES * PAGE_SIZE // 256)
    runs = random_runs(rng)
    secrets, _, _ = secrets_pair()
    sealers = [FrameSealer(secrets, TO_DESTINATION), FrameSealer(secrets, TO_DESTINATION | RUN_TABLES),
               FrameSealer(secrets, TO_DESTINATION), FrameSealer(secrets, TO_DESTINATION | RUN_TABLES)]
    secrets.wipe()
    ours, theirs = socket.socketpair()
    writer = FrameWriter(ours, 9, sealers[0] if encrypted else None, table_sealer=sealers[1] if encrypted else None,
                         batch_bytes=rng.choice([64 << 10, 1 << 20]))
    reader = FrameReader(theirs, buffer_bytes=4096)
    reader.bind(9, sealers[2] if encrypted else None, table_sealer=sealers[3] if encrypted else None)
    theirs.settimeout(10)
    view = memoryview(source)

    def send() -> None:
        packer = RunPacker(writer, FrameKind.PAGES, rng.choice([16, 256]), PAGE_SIZE)
        for first, count, tag in runs:
            if tag == RUN_ZERO:
                packer.add_zero(first, count)
            else:
                packer.add(first, count, view[first * PAGE_SIZE:(first + count) * PAGE_SIZE])
        packer.flush()
        writer.send_control(FrameKind.END)

    sender = threading.Thread(target=send)
    sender.start()
    received = bytearray(len(source))
    arrived: list[Run] = []
    try:
        while True:
            header, raw = reader.next_header()
            if header.kind is FrameKind.END:
                reader.read_payload(header, raw)
                break
            frame_runs = reader.read_runs(header, raw)
            assert len(frame_runs) <= MAX_RUNS
            written = [r for r in frame_runs if r.tag != RUN_ZERO]
            targets = [memoryview(received)[r.first * PAGE_SIZE:(r.first + r.size) * PAGE_SIZE] for r in written]
            reader.read_body_into(header, raw, targets)
            arrived += frame_runs
    finally:
        sender.join(10)
        writer.close()
        reader.close()
        ours.close()
        theirs.close()
    merged: list[tuple[int, int, int]] = []
    for first, size, tag in arrived:            # runs split across frames come back together
        if merged and merged[-1][0] + merged[-1][1] == first and merged[-1][2] == tag:
            merged[-1] = (merged[-1][0], merged[-1][1] + size, tag)
        else:
            merged.append((first, size, tag))
    expected: list[tuple[int, int, int]] = []
    for run in runs:
        if expected and expected[-1][0] + expected[-1][1] == run[0] and expected[-1][2] == run[2]:
            expected[-1] = (expected[-1][0], expected[-1][1] + run[1], run[2])
        else:
            expected.append(run)
    assert merged == expected
    for first, count, tag in runs:
        part = slice(first * PAGE_SIZE, (first + count) * PAGE_SIZE)
        assert received[part] == (bytes(count * PAGE_SIZE) if tag == RUN_ZERO else source[part])

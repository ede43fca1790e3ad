"""What a tap on the vMotion network captures of an encrypted migration that ends in an abort: no guest
bytes, no VM, host or vCenter name, and no page map (which pages were written, which are re-sent, where
they lie); and what the guest can find of the key afterwards: nothing (rows E9, E10)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from vmotion_helpers import secrets_pair
from vmotion_mitm import VMotionProxy

from linkedmode.model.faults import MigrationFault
from linkedmode.vmotion import GuestMemory, GuestWorkload, OutgoingMigration, VMotionListener
from linkedmode.vmotion.digest import PAGE_SIZE
from linkedmode.vmotion.frames import ABORT_PAYLOAD, HEADER_SIZE, RUN, RUN_TABLE_BYTES, FrameKind, iter_frames

MARKER = b"GUEST-MARKER:ssn=078-05-1120"
NAMES = [b"payroll-db-07", b"esx-b1", b"vc-b", b"esx-a1"]
PAGES = 2048                                  # an 8 MB VM


def scattered(memory: GuestMemory) -> list[tuple[int, int]]:
    """Runs of 4 written pages every 8 pages over the first 8192 KB: a layout a tap must not learn."""
    runs = [(page, 4) for page in range(0, PAGES, 8)]
    for first, count in runs:
        memory.write(first, os.urandom(count * PAGE_SIZE))
        memory.write_page(first, MARKER)
    return runs


def contiguous(memory: GuestMemory) -> list[tuple[int, int]]:
    """As many written pages as ``scattered``, in one run."""
    memory.write(0, os.urandom(1024 * PAGE_SIZE))
    for page in range(0, 1024, 4):
        memory.write_page(page, MARKER)
    return [(0, 1024)]


@pytest.fixture
def vm() -> Iterator[GuestMemory]:
    memory = GuestMemory(PAGES * PAGE_SIZE >> 20)
    yield memory
    memory.close()


def refuse_the_commit(seconds_left: float) -> None:
    raise MigrationFault("vCenter vc-b refused the commit of VM payroll-db-07 from esx-a1 to esx-b1")


def zero_fraction(data: bytes | memoryview) -> float:
    return bytes(data).count(0) / max(len(data), 1)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_a_stream_that_ends_in_an_abort_shows_a_tap_nothing_of_the_guest_when_encrypted(
        listener: VMotionListener, vm: GuestMemory, encrypted: bool) -> None:
    runs = scattered(vm)
    source, destination, key = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, vm.memory_mb, source.migration_id)
    with GuestWorkload(vm, dirty_rate_mbps=20, working_set_mb=4, seed=3) as busy, VMotionProxy(listener.address) as tap:
        with pytest.raises(MigrationFault, match="payroll-db-07"):      # the reason stays on the source, whole
            OutgoingMigration(vm, tap.address, source if encrypted else None, migration_id=source.migration_id,
                              workload=busy, switchover=refuse_the_commit).run()
        with pytest.raises(MigrationFault) as on_destination:
            incoming.wait(5)
    assert "(failed)" in on_destination.value.message and b"payroll" not in str(on_destination.value).encode()
    sent, returned = bytes(tap.captured), bytes(tap.returned)
    frames = list(iter_frames(sent))
    kinds = [header.kind for header, _ in frames]
    assert kinds[-1] is FrameKind.ABORT and kinds.count(FrameKind.SYNC) >= 1        # it did end in an abort
    [(_abort, code)] = [(h, p) for h, p in frames if h.kind is FrameKind.ABORT]
    assert len(code) == ABORT_PAYLOAD.size                                           # a code, not a sentence
    for name in NAMES:
        assert name not in sent and name not in returned                             # either way: ABORT has no text
    page_frames = [(h, p) for h, p in frames if h.kind is FrameKind.PAGES]
    tables = [p[:RUN_TABLE_BYTES] for _, p in page_frames]
    # the runs beyond the busy guest's 4 MB, as a table entry would name them (one may straddle two frames)
    entries = [RUN.pack(first, count, 0) for first, count in runs if first >= 1024]
    found = sum(entry in sent for entry in entries)
    if encrypted:
        assert MARKER not in sent and key not in sent and key not in returned
        assert all(h.sealed for h, _ in frames if h.kind is not FrameKind.ABORT)
        assert found == 0                                                            # no run of the page map
        assert all(zero_fraction(t) < 0.05 for t in tables)                          # tables are ciphertext
    else:                                                                            # the same tap, in the clear
        assert MARKER in sent
        assert found >= len(entries) - len(page_frames)
        assert all(zero_fraction(t) > 0.5 for t in tables)


def lengths(memory: GuestMemory, listener: VMotionListener, encrypted: bool) -> list[tuple[FrameKind, int]]:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, memory.memory_mb, source.migration_id)
    with VMotionProxy(listener.address) as tap:
        OutgoingMigration(memory, tap.address, source if encrypted else None, migration_id=source.migration_id).run()
        incoming.wait(5)
    return [(h.kind, HEADER_SIZE + h.payload_length) for h, _ in iter_frames(bytes(tap.captured))]


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_frame_lengths_depend_on_how_much_memory_was_written_not_where(listener: VMotionListener,
                                                                        encrypted: bool) -> None:
    one, other = GuestMemory(8), GuestMemory(8)
    try:
        scattered(one)
        contiguous(other)
        assert one.written_count() == other.written_count() == 1024
        assert lengths(one, listener, encrypted) == lengths(other, listener, encrypted)
    finally:
        one.close()
        other.close()


def test_the_key_is_nowhere_in_guest_memory_after_an_encrypted_migration(listener: VMotionListener,
                                                                        vm: GuestMemory) -> None:
    """Row E10: encryption is the host's business; neither copy of the guest holds any of the key."""
    scattered(vm)
    source, destination, key = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)
    with GuestWorkload(vm, dirty_rate_mbps=20, working_set_mb=4, seed=5) as busy:
        OutgoingMigration(vm, listener.address, source, workload=busy).run()
    received = incoming.wait(5)
    pieces = [key, key[:16], key[16:], key[::-1]]
    for memory in (vm, received):
        with memory.view() as guest:
            assert not any(guest.obj.find(piece) != -1 for piece in pieces)  # type: ignore[union-attr]  # an mmap
    # the scan does find a key that is there
    control = GuestMemory(1)
    try:
        control.write_page(100, b"\x00" * 7 + key[16:])
        with control.view() as guest:
            assert guest.obj.find(key[16:]) == 100 * PAGE_SIZE + 7  # type: ignore[union-attr]  # an mmap
    finally:
        control.close()

"""A destination backs the whole guest at prepare (so the page stream pays no allocation), gives back
every chunk the source's HELLO does not name, and backs a chunk again when a page arrives in it later
(pre-copy rounds carry pages written after the HELLO)."""

from __future__ import annotations

import ctypes
import os

import pytest
from vmotion_helpers import secrets_pair
from vmotion_mitm import VMotionProxy

from linkedmode.model.faults import InsufficientMemoryResourcesFault, MigrationFault
from linkedmode.model.validation import MAX_VM_MEMORY_MB
from linkedmode.vmotion import GuestMemory, GuestWorkload, MigrationOptions, OutgoingMigration, VMotionListener, populate
from linkedmode.vmotion.frames import HEADER_SIZE, FrameKind, iter_frames
from linkedmode.vmotion.guest import PAGE_SIZE, PAGES_PER_MB, REGION_PAGES, PageMap, iter_runs
from linkedmode.vmotion.populate import CHUNK_MAP_BITS, MIN_CHUNK_PAGES, chunk_map, chunk_pages, named_chunks
from linkedmode.vmotion.precopy import MigrationProgress

MB = 1 << 20
CHUNK = MIN_CHUNK_PAGES * PAGE_SIZE            # 2 MiB: the chunk of guests up to 4 GiB


def resident_bytes(memory: GuestMemory) -> int:
    """Bytes of the guest's memory the system backs now (mincore(2) over its mapping: adjacent mappings
    share one line of /proc/self/smaps, so that cannot tell two guests apart)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pages = memory.page_count
    vector = (ctypes.c_ubyte * pages)()
    with memory.view() as view:
        holder = ctypes.c_char.from_buffer(view)
        if libc.mincore(ctypes.c_void_p(ctypes.addressof(holder)), ctypes.c_size_t(pages * PAGE_SIZE), vector) != 0:
            raise OSError(ctypes.get_errno(), "mincore failed")
        del holder
    return sum(byte & 1 for byte in bytes(vector)) * PAGE_SIZE


def test_a_chunk_is_2_mib_or_the_guest_over_the_map_whatever_the_size() -> None:
    assert chunk_pages(256 * PAGES_PER_MB) == MIN_CHUNK_PAGES
    assert chunk_pages(4096 * PAGES_PER_MB) == MIN_CHUNK_PAGES           # 4 GiB: 2048 chunks of 2 MiB
    assert chunk_pages(8192 * PAGES_PER_MB) == 2 * MIN_CHUNK_PAGES
    largest = MAX_VM_MEMORY_MB * PAGES_PER_MB
    assert -(-largest // chunk_pages(largest)) <= CHUNK_MAP_BITS          # 24 TB still fits the map


def test_the_chunk_map_names_the_chunks_that_hold_a_written_page() -> None:
    written = PageMap(256 * PAGES_PER_MB)
    written.mark([0, 600, 256 * PAGES_PER_MB - 1])                       # chunks 0, 1 and the last (127)
    chunks = chunk_map(written)
    assert len(chunks) == 256
    assert list(iter_runs(named_chunks(chunks, 128))) == [(0, 2), (127, 1)]
    assert list(iter_runs(named_chunks(chunk_map(PageMap(256 * PAGES_PER_MB)), 128))) == []     # nothing written: nothing named


def test_blocks_larger_than_a_region_are_found_too() -> None:
    written = PageMap(8 * REGION_PAGES)
    written.mark([3 * REGION_PAGES + 5])
    assert list(written.marked_blocks(2 * REGION_PAGES)) == [1]
    assert list(written.marked_blocks(MIN_CHUNK_PAGES)) == [(3 * REGION_PAGES + 5) // MIN_CHUNK_PAGES]


def test_a_guest_moved_hot_is_backed_whole_at_prepare_and_kept_on_the_destination_only_where_it_wrote(
        listener: VMotionListener) -> None:
    memory = GuestMemory(512)
    for first in (0, 40_000, 100_000):                                  # 3 MiB in 3 chunks of 256
        memory.write(first, bytes(range(256)) * (MB // 256))
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, memory.memory_mb)
    assert resident_bytes(incoming.memory) == incoming.memory.size       # prepared: all of it, before the stream
    with GuestWorkload(memory, dirty_rate_mbps=20, working_set_mb=4, seed=3) as vcpus:   # dirtying the first 4 MiB
        OutgoingMigration(memory, listener.address, source, workload=vcpus, options=MigrationOptions(bandwidth_limit_mbps=50)).run()
        received = incoming.wait(5)
    assert received.digest() == memory.digest()
    # what was written (3 MiB, 2 chunks of the working set) in 2 MiB chunks, far from the 512 MiB the guest has
    assert 3 * MB <= resident_bytes(received) <= 6 * CHUNK
    received.close()
    memory.close()


def test_without_populating_ahead_pages_are_still_backed_only_as_they_arrive(listener: VMotionListener) -> None:
    memory = GuestMemory(64)
    memory.write(5000, bytes(4 * MB))
    incoming = listener.prepare(None, memory.memory_mb, 41, prefault=False)
    OutgoingMigration(memory, listener.address, None, migration_id=41).run()
    received = incoming.wait(5)
    assert received.digest() == memory.digest()
    assert 4 * MB <= resident_bytes(received) <= 4 * MB + CHUNK
    received.close()
    memory.close()


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_pages_written_after_the_hello_into_a_chunk_it_did_not_name_arrive_whole(listener: VMotionListener,
                                                                                  encrypted: bool) -> None:
    memory = GuestMemory(256)
    memory.fill_pattern(b"before the move ", 0.01)                       # 3 MiB, first chunks only
    far_page = 200 * PAGES_PER_MB + 7                                    # a chunk nothing wrote before the HELLO
    named = list(iter_runs(named_chunks(chunk_map(memory.begin_trace()), 128)))
    assert all(first + count <= far_page // MIN_CHUNK_PAGES or first > far_page // MIN_CHUNK_PAGES
               for first, count in named)
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, memory.memory_mb, source.migration_id)

    def guest_writes_far(progress: MigrationProgress) -> None:
        if progress.round == 0:                                          # after round 0, before the next pages
            memory.write_page(far_page, b"written during pre-copy" * 100)

    result = OutgoingMigration(memory, listener.address, source if encrypted else None, migration_id=source.migration_id,
                               progress=guest_writes_far).run()
    received = incoming.wait(5)
    assert received.read(far_page)[:23] == b"written during pre-copy"
    assert received.digest() == memory.digest() and result.digest_match
    announced = sum(count for _, count in named) * MIN_CHUNK_PAGES
    assert incoming.populator.backed_pages == announced + MIN_CHUNK_PAGES     # the named chunks, then the far one
    assert resident_bytes(received) <= announced * PAGE_SIZE + CHUNK
    received.close()
    memory.close()


def test_a_destination_without_room_for_the_guest_refuses_it_at_prepare(listener: VMotionListener,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(populate, "available_memory", lambda: 16 * MB)
    with pytest.raises(InsufficientMemoryResourcesFault) as refused:
        listener.prepare(None, 64, 43)
    assert refused.value.message == "64 MB of guest memory is more than this machine has free (16 MB)"
    assert listener.incoming(43) is None


def test_a_destination_that_cannot_back_a_chunk_mid_stream_ends_it_and_says_why(listener: VMotionListener) -> None:
    memory = GuestMemory(64)
    memory.write(0, os.urandom(4 * MB))
    far_page = 40 * PAGES_PER_MB
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, memory.memory_mb)

    def no_memory(first_page: int, count: int) -> None:
        raise InsufficientMemoryResourcesFault(f"cannot back {count * PAGE_SIZE >> 20} MB of guest memory: "
                                               "Cannot allocate memory", requested=count * PAGE_SIZE >> 20)

    assert incoming.memory is not None
    incoming.memory.populate = no_memory                                 # type: ignore[method-assign]  # the machine runs out from now on

    def guest_writes_far(progress: MigrationProgress) -> None:
        if progress.round == 0:                                          # into a chunk the HELLO did not name
            memory.write_page(far_page, b"late")

    with pytest.raises(MigrationFault) as on_source:
        OutgoingMigration(memory, listener.address, source, progress=guest_writes_far).run()
    assert on_source.value.message == ("the destination ended the migration: the destination has not the memory free "
                                       "for what the guest wrote (out_of_memory)")
    with pytest.raises(InsufficientMemoryResourcesFault) as refused:
        incoming.wait(5)
    assert refused.value.message == "cannot back 2 MB of guest memory: Cannot allocate memory"
    assert incoming.memory is None                                       # dropped with the migration
    memory.close()


def captured_hello(memory: GuestMemory, listener: VMotionListener, encrypted: bool) -> tuple[int, bytes]:
    """The HELLO a tap sees of a migration of ``memory``: its length on the wire and its payload."""
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, memory.memory_mb, source.migration_id)
    with VMotionProxy(listener.address) as tap:
        OutgoingMigration(memory, tap.address, source if encrypted else None, migration_id=source.migration_id).run()
        incoming.wait(5).close()
    [(header, payload)] = [(h, p) for h, p in iter_frames(bytes(tap.captured)) if h.kind is FrameKind.HELLO]
    return HEADER_SIZE + header.payload_length, bytes(payload)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_the_chunk_map_is_sealed_in_the_hello_whose_length_is_the_same_for_every_guest(listener: VMotionListener,
                                                                                         encrypted: bool) -> None:
    small, large = GuestMemory(16), GuestMemory(1024)
    small.write(0, bytes(range(256)) * (MB // 256))
    for first in range(0, large.page_count, 9 * MIN_CHUNK_PAGES):                 # every ninth chunk of 512
        large.write_page(first, b"written")
    maps = [chunk_map(small.begin_trace()), chunk_map(large.begin_trace())]
    (small_length, small_hello), (large_length, large_hello) = (captured_hello(small, listener, encrypted),
                                                                captured_hello(large, listener, encrypted))
    assert small_length == large_length                                       # a guest's size or layout: not in the length
    if encrypted:
        assert maps[0] not in small_hello and maps[1] not in large_hello        # the map is ciphertext
    else:                                                                      # the same tap, in the clear
        assert small_hello.endswith(maps[0]) and large_hello.endswith(maps[1])
    small.close()
    large.close()

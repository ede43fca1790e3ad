"""Guest memory and vCPUs: real pages, write tracing for pre-copy, a workload with SDPS and stun."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time

import pytest

from linkedmode.host.state import HostState, HostVmConfig
from linkedmode.model.faults import InvalidState
from linkedmode.model.versions import Version
from linkedmode.topology.spec import HostSpec
from linkedmode.vmotion import GuestMemory, GuestWorkload
from linkedmode.vmotion.guest import PAGE_SIZE, REGION_PAGES, PageMap, iter_runs


def test_untouched_memory_reads_zero_and_is_not_written() -> None:
    memory = GuestMemory(8)
    assert memory.page_count == 8 * 256 and memory.size == 8 << 20
    assert memory.written_count() == 0 and memory.dirty_count() == 0
    assert memory.read(100, 3) == bytes(3 * PAGE_SIZE)


def test_writes_mark_pages_written_and_dirty_until_collected() -> None:
    memory = GuestMemory(8)
    memory.write_page(5, b"abc")
    memory.write(10, bytes([7]) * (3 * PAGE_SIZE))
    assert memory.read(5)[:3] == b"abc" and memory.read(11) == bytes([7]) * PAGE_SIZE
    dirty = memory.collect_dirty()
    assert list(dirty.runs()) == [(5, 1), (10, 3)]
    assert memory.dirty_count() == 0 and memory.written_count() == 4     # tracing restarted; written stays
    assert memory.begin_trace().count() == 4


def test_iter_runs_finds_runs_of_either_value() -> None:
    page_map = bytes([0, 1, 1, 0, 0, 1, 0, 1])
    assert list(iter_runs(page_map)) == [(1, 2), (5, 1), (7, 1)]
    assert list(iter_runs(page_map, 0)) == [(0, 1), (3, 2), (6, 1)]
    assert list(iter_runs(bytes(4))) == [] and list(iter_runs(bytes([1]) * 4)) == [(0, 4)]


def test_fill_random_and_pattern_touch_the_fraction_asked() -> None:
    memory = GuestMemory(16)
    assert memory.fill_random(0.25) == 1024 and memory.written_count() == 1024
    runs = list(memory.begin_trace().runs())
    assert len(runs) == 4 and all(count == 256 for _, count in runs)          # 1 MiB blocks, spread out
    first = runs[0][0]
    assert memory.read(first) != bytes(PAGE_SIZE) and memory.read(first) != memory.read(first + 1)
    other = GuestMemory(8)
    assert other.fill_pattern(b"0123456789", 1.0) == other.page_count
    assert other.read(0)[:20] == b"01234567890123456789"


def test_marker_lands_in_pages() -> None:
    memory = GuestMemory(8)
    pages = memory.write_marker(b"MARKER", every_pages=512)
    assert pages == [0, 512, 1024, 1536]
    assert all(memory.read(p)[:6] == b"MARKER" for p in pages)


def test_digest_is_sha256_of_chunk_hashes_and_follows_content() -> None:
    a, b = GuestMemory(8), GuestMemory(8)
    assert a.digest() == b.digest()
    chunks = b"".join(hashlib.sha256(bytes(16384)).digest() for _ in range(512))
    assert a.digest() == hashlib.sha256(chunks).digest()
    a.write_page(300, b"x")
    assert a.digest() != b.digest()
    b.write_page(300, b"x")
    assert a.digest() == b.digest()


def test_closed_memory_is_dropped() -> None:
    memory = GuestMemory(8)
    memory.fill_random()
    memory.close()
    memory.close()
    assert memory.closed
    with pytest.raises(InvalidState):
        memory.read(0)


def _rate(workload: GuestWorkload, seconds: float = 0.2) -> float:
    before = workload.pages_written
    time.sleep(seconds)
    return (workload.pages_written - before) * PAGE_SIZE / (1 << 20) / seconds


def test_workload_dirties_its_working_set_at_its_rate() -> None:
    memory = GuestMemory(16)
    with GuestWorkload(memory, dirty_rate_mbps=40, working_set_mb=2, seed=1) as workload:
        rate = _rate(workload)
        assert 10 < rate < 60                                       # 40 MB/s, give or take a busy CI box
        dirty = memory.collect_dirty()
        assert dirty.count() > 0 and not dirty.any_in(512, memory.page_count - 512)   # only the first 2 MB (512 pages)


def test_throttle_slows_and_stun_stops_the_guest() -> None:
    memory = GuestMemory(8)
    with GuestWorkload(memory, dirty_rate_mbps=40, seed=2) as workload:
        workload.throttle(0.75)
        throttled = _rate(workload)
        assert throttled < 20                                       # 10 MB/s: a quarter of the time running
        workload.stun()
        assert workload.stunned and not workload.running
        memory.collect_dirty()
        time.sleep(0.05)
        assert memory.dirty_count() == 0                            # a stunned guest writes nothing
        workload.resume()
        workload.throttle(0.0)
        assert workload.running and _rate(workload) > 1.5 * throttled
    assert not workload.running


# --- memory that grows with what the guest does ------------------------------------------------------

def test_an_idle_guest_of_8_gib_holds_no_mapping_and_no_page_map() -> None:
    memory = GuestMemory(8192)
    assert not memory.mapped and memory.footprint == 0
    assert memory.written_count() == 0 and len(memory.digest()) == 32
    assert not memory.mapped and memory.footprint == 0                 # the digest of nothing maps nothing
    memory.close()


def test_a_few_writes_cost_one_region_of_map_not_a_map_of_the_whole_guest() -> None:
    memory = GuestMemory(8192)
    memory.write_page(3, b"x")
    memory.write_page(memory.page_count - 1, b"y")                    # the last page: a second region
    assert memory.mapped and memory.written_count() == 2
    whole_maps = 2 * memory.page_count                                 # what one byte per page in two maps costs
    assert memory.footprint == 4 * REGION_PAGES and memory.footprint * 16 <= whole_maps
    assert list(memory.begin_trace().runs()) == [(3, 1), (memory.page_count - 1, 1)]
    memory.close()


def test_a_powered_on_idle_host_vm_of_8_gib_costs_a_few_kilobytes_and_no_thread() -> None:
    threads = threading.active_count()
    host = HostState(HostSpec("esx-1", Version(7, 0, 3)), "vsphere.local", "vc-1")
    host.register(HostVmConfig("uuid-1", "big", memory_mb=8192))
    host.power_on("uuid-1")
    guest = host.guest("uuid-1")
    assert not guest.memory.mapped and guest.memory.footprint == 0
    assert _deep_size(guest) < 8 << 10 and threading.active_count() == threads
    host.reset()


def test_runs_span_regions_and_clearing_gives_regions_back() -> None:
    pages = PageMap(3 * REGION_PAGES + 10)
    pages.mark_run(REGION_PAGES - 2, REGION_PAGES + 4)                 # across two region boundaries
    pages.mark([3 * REGION_PAGES + 9])
    assert list(pages.runs()) == [(REGION_PAGES - 2, REGION_PAGES + 4), (3 * REGION_PAGES + 9, 1)]
    assert pages.count() == REGION_PAGES + 5 and pages.any_in(3 * REGION_PAGES, 10)
    pages.clear_run(0, 3 * REGION_PAGES)
    assert list(pages.runs()) == [(3 * REGION_PAGES + 9, 1)] and pages.nbytes == 10   # only the last, short region
    with pytest.raises(IndexError):
        pages.mark([3 * REGION_PAGES + 10])


def test_the_count_of_marked_pages_follows_every_change_though_it_is_kept_between_them() -> None:
    pages = PageMap(2 * REGION_PAGES)
    assert pages.count() == 0
    pages.mark([1, 2, REGION_PAGES])
    assert pages.count() == 3 and pages.count() == 3
    other = PageMap(2 * REGION_PAGES)
    PageMap.mark_both(pages, other, [3])
    assert (pages.count(), other.count()) == (4, 1)
    pages.mark_run(10, 5)
    assert pages.count() == 9
    pages.clear_run(0, 12)
    assert pages.count() == 4                                          # 12, 13, 14 and REGION_PAGES
    with pytest.raises(IndexError):
        pages.mark([20, 2 * REGION_PAGES])                             # the first marked, the second outside
    assert pages.count() == 5 and pages.copy().count() == 5


def test_a_dropped_lazy_memory_refuses_access() -> None:
    memory = GuestMemory(64)
    memory.close()
    with pytest.raises(InvalidState):
        memory.view()


def _deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held by an object and what it refers to (its own attributes, containers), counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, type | threading.Thread):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        return size + sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in obj.items())
    if isinstance(obj, list | tuple | set | frozenset):
        return size + sum(_deep_size(item, seen) for item in obj)
    if hasattr(obj, "__dict__"):
        size += _deep_size(vars(obj), seen)
    for slot in getattr(type(obj), "__slots__", ()):
        size += _deep_size(getattr(obj, slot, None), seen)
    return size


def test_available_memory_counts_the_page_cache_the_kernel_can_drop() -> None:
    from linkedmode.vmotion.guest import available_memory
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert available_memory() >= free - (64 << 20)   # MemFree plus what can be reclaimed (less what others took meanwhile)

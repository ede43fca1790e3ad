"""Guest memory and vCPUs: real pages, write tracing for pre-copy, a workload with SDPS and stun."""

from __future__ import annotations

import hashlib
import time

import pytest

from linkedmode.model.faults import InvalidState
from linkedmode.vmotion import GuestMemory, GuestWorkload
from linkedmode.vmotion.guest import PAGE_SIZE, iter_runs


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
    assert list(iter_runs(dirty)) == [(5, 1), (10, 3)]
    assert memory.dirty_count() == 0 and memory.written_count() == 4     # tracing restarted; written stays
    assert memory.begin_trace().count(1) == 4


def test_iter_runs_finds_runs_of_either_value() -> None:
    page_map = bytes([0, 1, 1, 0, 0, 1, 0, 1])
    assert list(iter_runs(page_map)) == [(1, 2), (5, 1), (7, 1)]
    assert list(iter_runs(page_map, 0)) == [(0, 1), (3, 2), (6, 1)]
    assert list(iter_runs(bytes(4))) == [] and list(iter_runs(bytes([1]) * 4)) == [(0, 4)]


def test_fill_random_and_pattern_touch_the_fraction_asked() -> None:
    memory = GuestMemory(16)
    assert memory.fill_random(0.25) == 1024 and memory.written_count() == 1024
    runs = list(iter_runs(memory.begin_trace()))
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
        assert dirty.count(1) > 0 and dirty.find(1, 512) == -1      # only the first 2 MB (512 pages)


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

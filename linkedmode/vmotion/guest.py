"""The emulated guest: its memory (real pages, traced for pre-copy) and the vCPUs that dirty them.

A guest costs what it has written, not its size. Memory is an anonymous private mapping made on the
first access (an idle guest has none); pages never touched cost nothing and read as zeros. Two page
maps trace writes: ``written`` (ever, so round 0 can send zero runs for the rest) and ``dirty``
(since the last pre-copy round). Each is sparse: one byte map per region of 128 MiB of guest memory
(32 KiB of map) that holds a mark, none for the others. Byte maps rather than bit sets because
``bytearray.find`` walks them at memchr speed, so turning a map into runs costs one Python step per
run, not per page; collecting a round swaps the dirty map for an empty one under a lock.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import mmap
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..model.faults import InsufficientMemoryResourcesFault, InvalidArgument, InvalidState
from .digest import PAGE_SIZE, SHA256, MemoryDigest

PAGES_PER_MB = (1 << 20) // PAGE_SIZE
_BLOCK = 1 << 20                      # fill_random / fill_pattern write 1 MiB blocks


MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)    # Linux's number; Python 3.11 does not name it

REGION_SHIFT = 15
REGION_PAGES = 1 << REGION_SHIFT      # pages of guest memory per region of a PageMap (128 MiB)
REGION_MASK = REGION_PAGES - 1


def iter_runs(page_map: bytes | bytearray, value: int = 1, start: int = 0,
              stop: int | None = None) -> Iterator[tuple[int, int]]:
    """(first_page, count) of each run of ``value`` in a byte-per-page map, in order."""
    other = 0 if value else 1
    stop = len(page_map) if stop is None else stop
    first = page_map.find(value, start, stop)
    while first != -1:
        end = page_map.find(other, first, stop)
        if end == -1:
            end = stop
        yield first, end - first
        first = page_map.find(value, end, stop)


@functools.cache
def kernel_populates() -> bool:
    """Whether this kernel backs a range of memory on request (MADV_POPULATE_WRITE, Linux 5.14)."""
    probe = mmap.mmap(-1, PAGE_SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        probe.madvise(MADV_POPULATE_WRITE, 0, PAGE_SIZE)
        return True
    except (OSError, ValueError):
        return False
    finally:
        probe.close()


def available_memory() -> int:
    """Bytes this machine can still give a process: MemAvailable, which counts the page cache the kernel
    drops on demand (MemFree, what SC_AVPHYS_PAGES gives, does not, and reads near zero on a machine
    whose cache is full); MemFree where /proc/meminfo says nothing."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


class PageMap:
    """Which pages of a guest are marked: one byte per page, held only for regions that have a mark."""

    __slots__ = ("_changes", "_counted", "_regions", "page_count")

    def __init__(self, page_count: int) -> None:
        self.page_count = page_count
        self._regions: dict[int, bytearray] = {}
        # count() is read without the guest's lock while a vCPU marks: each change bumps _changes after
        # its marks are in place, and a count is kept with the _changes it was made at.
        self._changes = 0
        self._counted = (-1, 0)

    def _region(self, index: int) -> bytearray:
        region = self._regions.get(index)
        if region is None:
            if not 0 <= index * REGION_PAGES < self.page_count:
                raise IndexError(f"page {index * REGION_PAGES} is outside {self.page_count} pages")
            region = self._regions[index] = bytearray(min(REGION_PAGES, self.page_count - index * REGION_PAGES))
        return region

    def mark(self, pages: Iterable[int]) -> None:
        regions = self._regions
        try:
            for page in pages:
                index = page >> REGION_SHIFT
                (regions.get(index) or self._region(index))[page & REGION_MASK] = 1
        finally:
            self._changes += 1

    @staticmethod
    def mark_both(first: PageMap, second: PageMap, pages: Iterable[int]) -> None:
        """`mark` on two maps of one guest in one pass (the written and the dirty map: each guest write)."""
        a, b = first._regions, second._regions
        try:
            for page in pages:
                index, offset = page >> REGION_SHIFT, page & REGION_MASK
                (a.get(index) or first._region(index))[offset] = 1
                (b.get(index) or second._region(index))[offset] = 1
        finally:
            first._changes += 1
            second._changes += 1

    def _spans(self, first: int, count: int) -> Iterator[tuple[int, int, int]]:
        """(region index, start, stop within it) of the regions pages [first, first + count) cover."""
        end = first + count
        while first < end:
            index = first // REGION_PAGES
            base = index * REGION_PAGES
            stop = min(end, base + REGION_PAGES)
            yield index, first - base, stop - base
            first = stop

    def mark_run(self, first: int, count: int) -> None:
        try:
            for index, start, stop in self._spans(first, count):
                self._region(index)[start:stop] = b"\x01" * (stop - start)
        finally:
            self._changes += 1

    def clear_run(self, first: int, count: int) -> None:
        for index, start, stop in self._spans(first, count):
            region = self._regions.get(index)
            if region is not None:
                region[start:stop] = bytes(stop - start)
                if region.find(1) == -1:
                    del self._regions[index]
        self._changes += 1

    def any_in(self, first: int, count: int) -> bool:
        for index, start, stop in self._spans(first, count):
            region = self._regions.get(index)
            if region is not None and region.find(1, start, stop) != -1:
                return True
        return False

    def count(self) -> int:
        """How many pages are marked: counted again only after a change (a region of 128 MiB takes
        20 us to count, a guest of 8 GiB written through over 1 ms, on every performance sample)."""
        changes, (counted_at, marked) = self._changes, self._counted
        if counted_at != changes:
            marked = sum(region.count(1) for region in list(self._regions.values()))
            self._counted = (changes, marked)
        return marked

    def runs(self) -> Iterator[tuple[int, int]]:
        """(first_page, count) of each run of marked pages, in order; a run may span regions."""
        pending_first, pending_end = -1, -1
        for index in sorted(self._regions):
            base = index * REGION_PAGES
            for first, count in iter_runs(self._regions[index]):
                first += base
                if first == pending_end:
                    pending_end += count
                    continue
                if pending_first >= 0:
                    yield pending_first, pending_end - pending_first
                pending_first, pending_end = first, first + count
        if pending_first >= 0:
            yield pending_first, pending_end - pending_first

    def marked_blocks(self, block_pages: int) -> Iterator[int]:
        """Index of each block of ``block_pages`` pages (a power of two) that holds a mark, in order."""
        step = min(block_pages, REGION_PAGES)
        last = -1
        for index in sorted(self._regions):
            region, base = self._regions[index], index * REGION_PAGES
            for start in range(0, len(region), step):
                block = (base + start) // block_pages
                if block != last and region.find(1, start, start + step) != -1:
                    last = block
                    yield block

    def copy(self) -> PageMap:
        other = PageMap(self.page_count)
        other._regions = {index: bytearray(region) for index, region in self._regions.items()}
        return other

    @property
    def nbytes(self) -> int:
        """The bytes its maps hold."""
        return sum(len(region) for region in self._regions.values())


class GuestMemory:
    """The RAM of one VM: ``memory_mb`` MiB of 4 KiB pages, with write tracing.

    The mapping is made on first access; a page is backed by the system when it is first written, or
    ahead of that by ``populate`` (the destination of a migration backs what the source says it wrote,
    so that receiving is not slowed by a page fault per page: see populate.py).
    """

    def __init__(self, memory_mb: int) -> None:
        if memory_mb <= 0:
            raise InvalidArgument(f"memory_mb must be positive, got {memory_mb}", argument="memory_mb")
        self.memory_mb = memory_mb
        self.page_count = memory_mb * PAGES_PER_MB
        self.size = self.page_count * PAGE_SIZE
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._closed = False
        self._written = PageMap(self.page_count)
        self._dirty = PageMap(self.page_count)
        self._lock = threading.Lock()

    def _mapped(self) -> memoryview:
        """The whole memory as one view, mapping it on first use."""
        view = self._view
        if view is not None:
            return view
        with self._lock:
            if self._closed:
                raise InvalidState("this guest memory was dropped")
            if self._view is None:
                try:
                    self._map = mmap.mmap(-1, self.size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
                except OSError as error:
                    raise InsufficientMemoryResourcesFault(f"cannot back {self.memory_mb} MB of guest memory: "
                                                           f"{error.strerror}", requested=self.memory_mb) from None
                self._view = memoryview(self._map)
            return self._view

    @property
    def mapped(self) -> bool:
        """Whether its mapping exists yet (an idle guest never touched has none)."""
        return self._view is not None

    @property
    def footprint(self) -> int:
        """Bytes this object holds beyond the guest's pages: its page maps."""
        return self._written.nbytes + self._dirty.nbytes

    # --- access -----------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def view(self, first_page: int = 0, count: int | None = None) -> memoryview:
        """A writable view of pages [first_page, first_page + count): no copy."""
        self._check_open()
        count = self.page_count - first_page if count is None else count
        if first_page < 0 or count < 0 or first_page + count > self.page_count:
            raise InvalidArgument(f"pages {first_page}..{first_page + count} are outside {self.page_count} pages")
        return self._mapped()[first_page * PAGE_SIZE:(first_page + count) * PAGE_SIZE]

    def populate(self, first_page: int, count: int) -> None:
        """Backs pages [first_page, first_page + count) with memory now, in one call into the kernel
        (MADV_POPULATE_WRITE, Linux 5.14; where the kernel has no such call they are backed as they are
        written). What the pages hold does not change."""
        with self.view(first_page, count):
            pass                                   # checks the bounds, maps the memory on first use
        memory_map = self._map
        if memory_map is None or not kernel_populates():
            return
        try:
            memory_map.madvise(MADV_POPULATE_WRITE, first_page * PAGE_SIZE, count * PAGE_SIZE)
        except OSError as error:
            raise InsufficientMemoryResourcesFault(f"cannot back {count * PAGE_SIZE >> 20} MB of guest memory: "
                                                   f"{error.strerror}", requested=count * PAGE_SIZE >> 20) from None

    def release(self, first_page: int, count: int) -> None:
        """Gives the memory behind pages [first_page, first_page + count) back to the system; they read
        as zero after (MADV_DONTNEED on a private anonymous mapping). For pages that hold nothing yet."""
        with self.view(first_page, count):
            pass                                   # checks the bounds
        if self._map is not None:
            self._map.madvise(mmap.MADV_DONTNEED, first_page * PAGE_SIZE, count * PAGE_SIZE)

    def read(self, first_page: int, count: int = 1) -> bytes:
        return bytes(self.view(first_page, count))

    def write_page(self, page: int, data: bytes | memoryview) -> None:
        """The guest writes one page (or its beginning)."""
        if len(data) > PAGE_SIZE:
            raise InvalidArgument(f"a page holds {PAGE_SIZE} bytes, got {len(data)}")
        self.view(page, 1)[:len(data)] = data
        self.mark_dirty((page,))

    def write(self, first_page: int, data: bytes | memoryview) -> None:
        """The guest writes a run of whole pages starting at ``first_page``."""
        count = -(-len(data) // PAGE_SIZE)
        self.view(first_page, count)[:len(data)] = data
        self.mark_run_dirty(first_page, count)

    def mark_dirty(self, pages: Iterable[int]) -> None:
        """Records guest writes, after the data is in place (so a round that collects them sees it)."""
        with self._lock:
            PageMap.mark_both(self._written, self._dirty, pages)

    def mark_run_dirty(self, first_page: int, count: int) -> None:
        with self._lock:
            self._written.mark_run(first_page, count)
            self._dirty.mark_run(first_page, count)

    # --- filling (the guest's state before a migration) ------------------------------------------

    def _blocks(self, fraction: float) -> list[int]:
        if not 0.0 <= fraction <= 1.0:
            raise InvalidArgument(f"fraction must be within 0..1, got {fraction}", argument="fraction")
        blocks = -(-self.size // _BLOCK)
        wanted = round(fraction * blocks)
        return [i * blocks // wanted for i in range(wanted)] if wanted else []

    def fill_random(self, fraction: float = 1.0, seed: bytes | int | None = None) -> int:
        """Writes random bytes over ``fraction`` of memory, in 1 MiB blocks spread evenly; returns pages written.

        The bytes are an AES-CTR keystream (GB/s, where os.urandom gives ~250 MB/s); the key is
        a throw-away PRNG seed, not a secret.
        """
        seed_bytes = os.urandom(32) if seed is None else hashlib.sha256(str(seed).encode()).digest()
        stream = Cipher(algorithms.AES(seed_bytes), modes.CTR(bytes(16))).encryptor()
        zeros = bytes(_BLOCK)
        pages = 0
        for block in self._blocks(fraction):
            pages += self._write_block(block, stream.update(zeros))
        return pages

    def fill_pattern(self, pattern: bytes, fraction: float = 1.0) -> int:
        """Writes ``pattern`` repeated over ``fraction`` of memory (1 MiB blocks); returns pages written."""
        if not pattern:
            raise InvalidArgument("pattern must not be empty", argument="pattern")
        block_data = (pattern * (-(-_BLOCK // len(pattern))))[:_BLOCK]
        return sum(self._write_block(block, block_data) for block in self._blocks(fraction))

    def _write_block(self, block: int, data: bytes) -> int:
        first = block * _BLOCK // PAGE_SIZE
        count = min(_BLOCK // PAGE_SIZE, self.page_count - first)
        self.write(first, memoryview(data)[:count * PAGE_SIZE])
        return count

    def write_marker(self, marker: bytes, every_pages: int = 64) -> list[int]:
        """Writes ``marker`` at the start of every ``every_pages``-th page, so a tap can look for it."""
        if not 0 < len(marker) <= PAGE_SIZE:
            raise InvalidArgument("marker must be 1..4096 bytes", argument="marker")
        if every_pages < 1:
            raise InvalidArgument(f"marker_every_pages {every_pages} is not a positive number of pages", argument="marker_every_pages")
        pages = list(range(0, self.page_count, every_pages))
        for page in pages:
            self.view(page, 1)[:len(marker)] = marker
        self.mark_dirty(pages)
        return pages

    # --- tracing for pre-copy --------------------------------------------------------------------

    def begin_trace(self) -> PageMap:
        """Starts a pre-copy: clears the dirty map and returns the map of pages ever written (round 0)."""
        with self._lock:
            self._dirty = PageMap(self.page_count)
            return self._written.copy()

    def collect_dirty(self) -> PageMap:
        """The pages dirtied since the last collection; tracing goes on in a fresh map."""
        with self._lock:
            dirty, self._dirty = self._dirty, PageMap(self.page_count)
        return dirty

    def dirty_count(self) -> int:
        return self._dirty.count()

    def written_count(self) -> int:
        return self._written.count()

    def note_received(self, first_page: int, count: int) -> None:
        """Destination side: pages that arrived as bytes (so digest and zero runs know they were written)."""
        with self._lock:
            self._written.mark_run(first_page, count)

    def zero(self, first_page: int, count: int) -> bool:
        """Destination side: a zero run; zeroes the pages only if some had bytes. True if it changed memory."""
        if not self._written.any_in(first_page, count):
            return False
        self.view(first_page, count)[:] = bytes(count * PAGE_SIZE)
        with self._lock:
            self._written.clear_run(first_page, count)
        return True

    # --- digest and lifetime ---------------------------------------------------------------------

    def digest(self) -> bytes:
        """SHA-256 over the SHA-256 of each 16 KiB chunk (see digest.py); reads only chunks ever written."""
        self._check_open()
        with self._lock:
            written = self._written.copy()
        view = self._mapped() if written.nbytes else memoryview(b"")     # nothing written: nothing is read
        tracker = MemoryDigest(view, self.page_count, SHA256)
        tracker.update_runs(written.runs())
        return tracker.digest()

    def close(self) -> None:
        """Drops the memory: pages go back to the system at once (MADV_DONTNEED), then the mapping closes."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            memory_map, view, self._map, self._view = self._map, self._view, None, None
            self._written = PageMap(0)
            self._dirty = PageMap(0)
        if memory_map is None or view is None:
            return
        memory_map.madvise(mmap.MADV_DONTNEED)
        try:
            view.release()
            memory_map.close()
        except BufferError:
            pass          # a slice is still alive (a traceback may hold one): the mapping goes with it

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidState("this guest memory was dropped")

    def __repr__(self) -> str:
        return f"GuestMemory({self.memory_mb} MB, {'closed' if self.closed else 'open'})"


class GuestWorkload:
    """The guest's vCPUs, as far as memory goes: a thread writing pages at ``dirty_rate_mbps`` over a working set.

    ``throttle(fraction)`` is SDPS (stun during page send): the vCPUs are held back for that fraction
    of the time, so the guest dirties pages that much slower. ``stun()`` returns once no write is in
    flight and none will start until ``resume()``.
    """

    def __init__(self, memory: GuestMemory, dirty_rate_mbps: float, working_set_mb: int | None = None, *,
                 seed: int | None = None, tick_s: float = 0.002) -> None:
        if dirty_rate_mbps < 0:
            raise InvalidArgument("dirty_rate_mbps must not be negative", argument="dirty_rate_mbps")
        self.memory = memory
        self.dirty_rate_mbps = dirty_rate_mbps
        ws_mb = memory.memory_mb if not working_set_mb else min(working_set_mb, memory.memory_mb)
        self.working_set_pages = ws_mb * PAGES_PER_MB
        self.pages_written = 0
        self.cpu_seconds = 0.0                   # CPU time its vCPU thread used (updated by that thread)
        self._seed = seed
        self._tick_s = tick_s
        self._throttle = 0.0
        self._vcpu = threading.Lock()            # held by a batch of writes, and by stun() until resume()
        self._stun_guard = threading.Lock()
        self._stunned = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stunned

    @property
    def stunned(self) -> bool:
        return self._stunned

    @property
    def throttle_fraction(self) -> float:
        return self._throttle

    def start(self) -> GuestWorkload:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="guest-vcpu", daemon=True)
            self._thread.start()
        return self

    def throttle(self, fraction: float) -> None:
        self._throttle = min(max(fraction, 0.0), 1.0)

    def stun(self) -> None:
        with self._stun_guard:
            if not self._stunned:
                self._vcpu.acquire()
                self._stunned = True

    def resume(self) -> None:
        with self._stun_guard:
            if self._stunned:
                self._stunned = False
                self._vcpu.release()

    def stop(self) -> None:
        self._stopping.set()
        self.resume()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> GuestWorkload:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        rng = random.Random(self._seed)
        pool = memoryview(os.urandom(1 << 20))
        page_bytes = self.dirty_rate_mbps * (1 << 20) / PAGE_SIZE
        credit = 0.0
        last = time.monotonic()
        while not self._stopping.is_set():
            with self._vcpu:
                now = time.monotonic()
                # No catching up after a stun or a slow tick: a stunned vCPU did not run.
                credit += page_bytes * (1.0 - self._throttle) * min(now - last, 4 * self._tick_s)
                last = now
                count = int(credit)
                if count and not self._stopping.is_set():
                    credit -= count
                    try:
                        self._write_batch(rng, pool, count)
                    except InvalidState:
                        return          # the memory was dropped under us: the VM is gone
                self.cpu_seconds = time.thread_time()
            self._stopping.wait(self._tick_s)

    def _write_batch(self, rng: random.Random, pool: memoryview, count: int) -> None:
        pages = [rng.randrange(self.working_set_pages) for _ in range(count)]
        limit = len(pool) - PAGE_SIZE
        with self.memory.view() as view:
            for page in pages:
                offset = page * PAGE_SIZE
                start = rng.randrange(limit)
                view[offset:offset + PAGE_SIZE] = pool[start:start + PAGE_SIZE]
                view[offset:offset + 8] = self.pages_written.to_bytes(8, "little")   # never the same bytes twice
                self.pages_written += 1
        self.memory.mark_dirty(pages)

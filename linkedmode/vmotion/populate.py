"""A destination backs guest memory where the source wrote, before the pages land there, and nowhere else.

Pages copied into memory not backed yet cost a page fault each, in the middle of the stream (+0.4
CPU s per GiB received, measured); a range backed at once costs only the kernel's allocation and
zeroing (MADV_POPULATE_WRITE, what MAP_POPULATE does for a whole mapping). Backing the whole guest at
prepare time made every destination hold all of its guests' memory, written or not. So the source
names, in its HELLO, the chunks of guest memory it has written (the chunk map: sealed with the rest
of the HELLO in an encrypted stream, and of one size whatever the guest's, so a HELLO's length says
nothing); the destination backs those chunks at once, and any other the first time a page arrives in
it (a pre-copy round carries pages the guest wrote after the HELLO, anywhere).

A chunk is at least 2 MiB: the guest's pages over CHUNK_MAP_BITS, rounded up to a power of two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model.faults import InsufficientMemoryResourcesFault
from .digest import PAGE_SIZE
from .guest import GuestMemory, PageMap, available_memory

CHUNK_MAP_BYTES = 256
CHUNK_MAP_BITS = CHUNK_MAP_BYTES * 8
MIN_CHUNK_PAGES = 512                  # 2 MiB


def chunk_pages(page_count: int) -> int:
    """Pages per chunk of a guest of ``page_count`` pages (a power of two)."""
    wanted = -(-page_count // CHUNK_MAP_BITS)
    return max(MIN_CHUNK_PAGES, 1 << (wanted - 1).bit_length())


def chunk_map(written: PageMap) -> bytes:
    """The chunk map of a guest's written pages: bit ``c`` (most significant bit first) set if chunk ``c``
    holds a written page."""
    bits = bytearray(CHUNK_MAP_BYTES)
    for chunk in written.marked_blocks(chunk_pages(written.page_count)):
        bits[chunk >> 3] |= 0x80 >> (chunk & 7)
    return bytes(bits)


def chunk_runs(chunks: bytes, count: int) -> Iterator[tuple[int, int]]:
    """(first chunk, how many) of each run of chunks set in a chunk map, among the first ``count``."""
    first = -1
    for chunk in range(min(count, len(chunks) * 8)):
        if chunks[chunk >> 3] & (0x80 >> (chunk & 7)):
            if first < 0:
                first = chunk
        elif first >= 0:
            yield first, chunk - first
            first = -1
    if first >= 0:
        yield first, min(count, len(chunks) * 8) - first


class Populator:
    """Which chunks of one destination's guest memory are backed; backs the others when told to.
    ``enabled`` False: nothing is backed ahead, pages fault in as they are copied."""

    def __init__(self, memory: GuestMemory, *, enabled: bool = True) -> None:
        self.memory = memory
        self.enabled = enabled
        self.chunk_pages = chunk_pages(memory.page_count)
        self._shift = self.chunk_pages.bit_length() - 1
        self._backed = bytearray(-(-memory.page_count // self.chunk_pages))
        self.backed_pages = 0

    def announced(self, chunks: bytes) -> None:
        """Backs the chunks the source's HELLO names, if this machine has the memory for them."""
        if not self.enabled:
            return
        runs = list(chunk_runs(chunks, len(self._backed)))
        pages = sum(self._span(first, count)[1] for first, count in runs)
        free = available_memory()
        if pages * PAGE_SIZE > free:
            written_mb, free_mb = pages * PAGE_SIZE >> 20, free >> 20
            raise InsufficientMemoryResourcesFault(f"the {written_mb} MB of guest memory the source wrote are more than "
                                                   f"this machine has free ({free_mb} MB)", requested=written_mb,
                                                   unreserved=free_mb)
        for first, count in runs:
            self._back(first, count)

    def cover(self, runs: Iterable[tuple[int, int, int]]) -> None:
        """Backs the chunks of runs of pages about to arrive (first, count, tag) that are not backed yet."""
        if not self.enabled:
            return
        backed, shift = self._backed, self._shift
        for first, count, _ in runs:
            for chunk in range(first >> shift, ((first + count - 1) >> shift) + 1):
                if not backed[chunk]:
                    self._back(chunk, 1)

    def _span(self, first_chunk: int, count: int) -> tuple[int, int]:
        """(first page, pages) of ``count`` chunks from ``first_chunk`` (the last chunk may be short)."""
        first = first_chunk * self.chunk_pages
        return first, min(count * self.chunk_pages, self.memory.page_count - first)

    def _back(self, first_chunk: int, count: int) -> None:
        first, pages = self._span(first_chunk, count)
        self.memory.populate(first, pages)
        self._backed[first_chunk:first_chunk + count] = b"\x01" * count
        self.backed_pages += pages

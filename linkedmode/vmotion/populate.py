"""A destination's guest memory is backed before pages land in it, and kept only where the source wrote.

Pages copied into memory not backed yet cost a page fault each, in the middle of the stream (+0.4
CPU s per GiB received, measured); a range backed at once costs only the kernel's allocation and
zeroing (MADV_POPULATE_WRITE, what MAP_POPULATE does for a whole mapping), and backed at prepare time
that cost is not in the page stream at all. So a destination backs the whole guest at prepare. The
source's HELLO then names the chunks of guest memory it has written (the chunk map: sealed with the
rest of the HELLO in an encrypted stream, and of one size whatever the guest's, so a HELLO's length
says nothing), and the destination gives back every other chunk at once: from the first frame on it
holds what the guest wrote, not the guest's size. A page that arrives later in a chunk given back
backs that chunk again (a pre-copy round carries pages the guest wrote after the HELLO, anywhere).

A chunk is at least 2 MiB: the guest's pages over CHUNK_MAP_BITS, rounded up to a power of two.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model.faults import InsufficientMemoryResourcesFault
from .guest import GuestMemory, PageMap, available_memory, iter_runs

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


def named_chunks(chunks: bytes, count: int) -> bytes:
    """The first ``count`` chunks of a chunk map, one byte each (1: named), for guest.iter_runs."""
    return bytes((chunks[chunk >> 3] >> (7 - (chunk & 7))) & 1 for chunk in range(min(count, len(chunks) * 8)))


class Populator:
    """Which chunks of one destination's guest memory are backed. ``enabled``: the whole guest is
    backed now (if this machine has the memory free) and, once the HELLO says where the source wrote,
    the rest given back; False: nothing is backed ahead, pages fault in as they are copied."""

    def __init__(self, memory: GuestMemory, *, enabled: bool = True) -> None:
        self.memory = memory
        self.enabled = enabled
        self.chunk_pages = chunk_pages(memory.page_count)
        self._shift = self.chunk_pages.bit_length() - 1
        self._backed = bytearray(-(-memory.page_count // self.chunk_pages))
        self.backed_pages = 0
        if enabled:
            free = available_memory()
            if memory.size > free:      # backing it would run this machine out of memory
                raise InsufficientMemoryResourcesFault(f"{memory.memory_mb} MB of guest memory is more than this machine "
                                                       f"has free ({free >> 20} MB)", requested=memory.memory_mb,
                                                       unreserved=free >> 20)
            self._back(0, len(self._backed))

    def announced(self, chunks: bytes) -> None:
        """Gives back the chunks the source's HELLO does not name: nothing has been received in them."""
        if not self.enabled:
            return
        for first, count in iter_runs(named_chunks(chunks, len(self._backed)), 0):
            first_page, pages = self._span(first, count)
            self.memory.release(first_page, pages)
            self._backed[first:first + count] = bytes(count)
            self.backed_pages -= pages

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

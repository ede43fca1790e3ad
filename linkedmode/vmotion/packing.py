"""Packing runs of pages or disk blocks into PAGES and DISK frames, on the source.

A frame takes runs until its body holds ``frame_units`` units (1 MiB) or its run table is full, so
that in an encrypted stream the frames' lengths say how much crossed and nothing of where it came
from: a long run is split across frames, short ones share a frame.
"""

from __future__ import annotations

from .frames import MAX_RUNS, RUN_ZERO, FrameKind, Run
from .stream import FrameWriter

_MAX_RUN = (1 << 32) - 1             # a run table entry counts in a u32


class RunPacker:
    """Fills frames of one kind with runs, in the order given; ``flush`` sends the last, partial one."""

    def __init__(self, writer: FrameWriter, kind: FrameKind, frame_units: int, unit_bytes: int) -> None:
        self._writer = writer
        self._kind = kind
        self._frame_units = frame_units
        self._unit_bytes = unit_bytes
        self._runs: list[Run] = []
        self._body: list[memoryview] = []
        self._units = 0

    def add(self, first: int, count: int, data: memoryview, tag: int = 0) -> None:
        """A run whose ``count`` units are ``data`` (guest pages, or a disk's blocks with ``tag`` its number)."""
        unit = self._unit_bytes
        while count:
            room = self._frame_units - self._units
            n = min(count, room)
            self._runs.append(Run(first, n, tag))
            self._body.append(data[:n * unit])
            self._units += n
            first, count, data = first + n, count - n, data[n * unit:]
            if self._units >= self._frame_units or len(self._runs) >= MAX_RUNS:
                self.flush()

    def add_zero(self, first: int, count: int) -> None:
        """A run of pages the guest never wrote: an entry of the table, no bytes."""
        while count:
            n = min(count, _MAX_RUN)
            self._runs.append(Run(first, n, RUN_ZERO))
            first, count = first + n, count - n
            if len(self._runs) >= MAX_RUNS:
                self.flush()

    def flush(self) -> None:
        if self._runs:
            self._writer.send_runs(self._kind, self._runs, self._body)
        self._runs, self._body, self._units = [], [], 0

"""Time in one place: each part (vCenter, host) has one Reaper, the only thread that waits for deadlines.

Work that must happen later (a prepared migration that expires, a journal to settle again) is scheduled
here, with its delay taken from the part's topology timeouts, and cancelled when it is no longer due.
Callbacks run on the reaper's thread, one at a time; a callback that raises is logged and forgotten.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    callback: Callable[[], None] = field(compare=False)
    name: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)
    every: float = field(compare=False, default=0.0)


class Scheduled:
    """A handle on scheduled work: `cancel()` makes sure it does not run (again)."""

    def __init__(self, reaper: Reaper, entry: _Entry) -> None:
        self._reaper = reaper
        self._entry = entry

    def cancel(self) -> None:
        self._reaper._cancel(self._entry)

    @property
    def pending(self) -> bool:
        return not self._entry.cancelled


class Reaper:
    def __init__(self, part: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.part = part
        self._clock = clock
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, callback: Callable[[], None], name: str = "") -> Scheduled:
        """Runs `callback` once, `seconds` from now (unless cancelled first)."""
        return self._add(seconds, callback, name, every=0.0)

    def every(self, seconds: float, callback: Callable[[], None], name: str = "") -> Scheduled:
        """Runs `callback` every `seconds`, the first time `seconds` from now, until cancelled."""
        return self._add(seconds, callback, name, every=max(seconds, 1e-3))

    def pending(self) -> list[str]:
        """The names of the work still scheduled (for tests and for a part's status)."""
        with self._cond:
            return sorted(e.name for e in self._heap if not e.cancelled)

    def stop(self) -> None:
        """Nothing more runs; the reaper's thread ends (waited for unless called from it)."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _add(self, seconds: float, callback: Callable[[], None], name: str, every: float) -> Scheduled:
        entry = _Entry(self._clock() + max(0.0, seconds), next(self._order), callback, name, every=every)
        with self._cond:
            if self._stopped:
                entry.cancelled = True
                return Scheduled(self, entry)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"{self.part}-reaper", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return Scheduled(self, entry)

    def _cancel(self, entry: _Entry) -> None:
        with self._cond:
            entry.cancelled = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                entry = self._next_due()
                if entry is None:
                    return
            try:
                entry.callback()
            except Exception:
                log.exception("%s: scheduled work %r failed", self.part, entry.name or entry.callback)
            if entry.every:
                with self._cond:
                    if not entry.cancelled and not self._stopped:
                        entry.due = self._clock() + entry.every
                        entry.order = next(self._order)
                        heapq.heappush(self._heap, entry)
            else:
                entry.cancelled = True

    def _next_due(self) -> _Entry | None:
        """Waits (holding the condition) for the next entry that is due; None once stopped."""
        while not self._stopped:
            while self._heap and self._heap[0].cancelled:
                heapq.heappop(self._heap)
            if not self._heap:
                self._cond.wait()
                continue
            wait = self._heap[0].due - self._clock()
            if wait <= 0:
                return heapq.heappop(self._heap)
            self._cond.wait(wait)
        return None

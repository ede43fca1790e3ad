"""Concurrent vMotions per host, as vSphere limits them (row V8): 4 on 1 GbE, 8 on 10 GbE. The rest
wait their turn (the task reads `queued`); none is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..model.faults import RequestCanceled, Timedout


class VMotionSlots:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_use: dict[str, int] = {}
        self._peak: dict[str, int] = {}

    def in_use(self, host: str) -> int:
        with self._cond:
            return self._in_use.get(host, 0)

    def peak(self, host: str) -> int:
        """The most vMotions this host ever ran at once."""
        with self._cond:
            return self._peak.get(host, 0)

    def acquire(self, host: str, limit: int, *, on_wait: Callable[[], None] = lambda: None,
                cancelled: Callable[[], bool] = lambda: False, timeout: float | None = None) -> float:
        """Takes a slot, waiting for one if the host runs its maximum. Returns how long it waited."""
        started = time.monotonic()
        with self._cond:
            waited = False
            while self._in_use.get(host, 0) >= limit:
                if not waited:
                    on_wait()
                    waited = True
                if cancelled():
                    raise RequestCanceled("the task was cancelled while queued for a vMotion slot")
                if timeout is not None and time.monotonic() - started > timeout:
                    raise Timedout(f"no vMotion slot on {host} within {timeout:g} s", object=host)
                self._cond.wait(0.2)
            self._in_use[host] = self._in_use.get(host, 0) + 1
            self._peak[host] = max(self._peak.get(host, 0), self._in_use[host])
        return time.monotonic() - started

    def release(self, host: str) -> None:
        with self._cond:
            self._in_use[host] = max(0, self._in_use.get(host, 0) - 1)
            self._cond.notify_all()

    @contextmanager
    def held(self, host: str, limit: int, **waiting: Callable) -> Iterator[float]:
        waited = self.acquire(host, limit, **waiting)
        try:
            yield waited
        finally:
            self.release(host)

"""Concurrent vMotions per host, as vSphere limits them (row V8): 4 on 1 GbE, 8 on 10 GbE, on the source
and on the destination host. Beyond that a move waits its turn (its task reads `queued`); none is refused.

A slot is taken without waiting (`try_acquire`); a move that needs two (its source host's and its
destination host's) holds neither while it waits, so two moves never wait on each other.
"""

from __future__ import annotations

import threading


class VMotionSlots:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_use: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._releases = 0

    def in_use(self, host: str) -> int:
        with self._cond:
            return self._in_use.get(host, 0)

    def peak(self, host: str) -> int:
        """The most vMotions this host ever ran at once."""
        with self._cond:
            return self._peak.get(host, 0)

    def try_acquire(self, host: str, limit: int) -> bool:
        """Takes a slot on `host` if it runs fewer than `limit` vMotions; never waits."""
        with self._cond:
            if self._in_use.get(host, 0) >= limit:
                return False
            self._in_use[host] = self._in_use.get(host, 0) + 1
            self._peak[host] = max(self._peak.get(host, 0), self._in_use[host])
            return True

    def take(self, host: str) -> None:
        """Counts a slot that is already held elsewhere (a journaled arrival, after a restart)."""
        with self._cond:
            self._in_use[host] = self._in_use.get(host, 0) + 1
            self._peak[host] = max(self._peak.get(host, 0), self._in_use[host])

    def release(self, host: str) -> None:
        with self._cond:
            self._in_use[host] = max(0, self._in_use.get(host, 0) - 1)
            self._releases += 1
            self._cond.notify_all()

    def releases(self) -> int:
        """A counter that moves with every release: read it before trying, then wait for it to move."""
        with self._cond:
            return self._releases

    def wait_for_release(self, seen: int, timeout: float) -> None:
        """Returns once a slot was released since `seen` was read, or after `timeout` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self._releases != seen, timeout)

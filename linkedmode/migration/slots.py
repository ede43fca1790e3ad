"""Concurrent vMotions per host, as vSphere limits them (row V8): 4 on 1 GbE, 8 on 10 GbE, on the source
and on the destination host. Beyond that a move waits its turn (its task reads `queued`); none is refused.

A slot is taken without waiting (`try_acquire`); a move that needs two (its source host's and its
destination host's) holds neither while it waits, so two moves never wait on each other. A move that
was refused a slot says so each time it asks again; while it does, no move of lower priority takes a
slot of that host before it (its claim lapses when it stops asking, after `claims_last` seconds).
"""

from __future__ import annotations

import threading
import time

from ..model.migration import MovePriority


class VMotionSlots:
    def __init__(self, claims_last: float = 2.0) -> None:
        self._cond = threading.Condition()
        self._in_use: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._releases = 0
        self._claims: dict[str, dict[int, tuple[int, float]]] = {}   # host -> waiter -> (priority rank, last asked)
        self._claims_last = claims_last

    def in_use(self, host: str) -> int:
        with self._cond:
            return self._in_use.get(host, 0)

    def peak(self, host: str) -> int:
        """The most vMotions this host ever ran at once."""
        with self._cond:
            return self._peak.get(host, 0)

    def try_acquire(self, host: str, limit: int, *, priority: MovePriority = MovePriority.DEFAULT, waiter: int = 0) -> bool:
        """Takes a slot on `host` if it runs fewer than `limit` vMotions and no move of higher priority waits
        for one; never waits. `waiter` (a migration id) keeps a refused move's claim while it asks again."""
        now = time.monotonic()
        with self._cond:
            claims = self._claims.setdefault(host, {})
            for other in [w for w, (_, asked) in claims.items() if now - asked > self._claims_last]:
                del claims[other]
            ahead = any(rank > priority.rank for w, (rank, _) in claims.items() if w != waiter)
            if self._in_use.get(host, 0) >= limit or ahead:
                if waiter:
                    claims[waiter] = (priority.rank, now)
                return False
            claims.pop(waiter, None)
            self._in_use[host] = self._in_use.get(host, 0) + 1
            self._peak[host] = max(self._peak.get(host, 0), self._in_use[host])
            return True

    def withdraw(self, host: str, waiter: int) -> None:
        """A move that no longer waits (cancelled, refused) gives up its claim at once."""
        with self._cond:
            self._claims.get(host, {}).pop(waiter, None)

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

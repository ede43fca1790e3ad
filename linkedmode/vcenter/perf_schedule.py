"""When a vCenter asks each of its hosts for performance counters (row X5): every host once per
sampling interval, each at its own offset into the interval, so that no moment does the work of the
whole vCenter.

The hosts there are when sampling starts are spread evenly (host k of n at k * interval / n, one
interval after the start); a host added later takes the middle of the widest gap between the offsets
in use, and a host removed frees its offset. A host is asked at its offset of every interval; one
asked late (the machine was busy) is next asked at its offset of the interval after, never twice in a
row to catch up. Times are those of a monotonic clock; the schedule keeps none of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


class SamplingSchedule:
    def __init__(self, interval: float, started: float) -> None:
        if interval <= 0:
            raise ValueError(f"a sampling interval is positive, not {interval}")
        self.interval = interval
        self._origin = started
        self._offsets: dict[str, float] = {}     # host -> its offset into every interval
        self._passes: dict[str, int] = {}        # host -> the interval it is next asked in (1: the first)

    def plan(self, hosts: Iterable[str], now: float) -> None:
        """Takes the hosts as they are at `now`: those new get an offset (and are first asked at it,
        after `now`), those gone lose theirs."""
        wanted = sorted(set(hosts))
        for gone in set(self._offsets) - set(wanted):
            del self._offsets[gone], self._passes[gone]
        new = [host for host in wanted if host not in self._offsets]
        if not new:
            return
        spread = not self._offsets
        for k, host in enumerate(new):
            offset = k * self.interval / len(new) if spread else self._widest_gap_middle()
            self._offsets[host] = offset
            self._passes[host] = self._first_pass_after(offset, now)

    def offsets(self) -> dict[str, float]:
        return dict(self._offsets)

    def due(self, host: str) -> float:
        return self._origin + self._offsets[host] + self._passes[host] * self.interval

    def next(self) -> tuple[str, float] | None:
        """The host asked next and when (by the monotonic clock); None when there is none."""
        if not self._offsets:
            return None
        host = min(self._offsets, key=self.due)
        return host, self.due(host)

    def asked(self, host: str, now: float) -> None:
        """The host was asked at `now`: it is next asked at its offset of a later interval."""
        if host in self._offsets:
            self._passes[host] = max(self._passes[host] + 1, self._first_pass_after(self._offsets[host], now))

    def _first_pass_after(self, offset: float, moment: float) -> int:
        """The first interval (1 at least) in which `offset` falls after `moment`."""
        return max(1, math.floor((moment - self._origin - offset) / self.interval) + 1)

    def _widest_gap_middle(self) -> float:
        offsets = sorted(self._offsets.values())
        gaps = [(later - earlier, earlier) for earlier, later in zip(offsets, [*offsets[1:], offsets[0] + self.interval], strict=True)]
        width, start = max(gaps, key=lambda gap: (gap[0], -gap[1]))
        return (start + width / 2) % self.interval

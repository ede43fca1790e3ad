"""When pre-copy stops, and how hard SDPS holds the guest back: one pure decision per round (rows V2, V3).

* Switch over when the pages left would cross within the switchover goal (0.5 s by default) at the
  measured bandwidth, less the two round trips every switchover waits for (the checkpoint's ACK, then
  END's; row V6: on a long-distance link they are most of the stun) - and another round would not
  help much: the set is already tiny, it stopped halving, or the round limit is reached. vSphere
  states only the first half; the second keeps the stun short when rounds are cheap (a round that
  halves the dirty set halves the downtime).
* When the pages left do not fit and the guest dirtied more than half of what the round sent (it
  outruns the link), raise the SDPS throttle: 20 %, then 10 points per such round, up to 99 %
  (QEMU's auto-converge uses the same trigger and steps).
* At the round limit without fitting, switch over anyway ("forced"); the switchover then runs against
  ``max_switchover_seconds`` and fails if the link cannot carry the rest in time (row V4).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .digest import PAGE_SIZE


class Step(StrEnum):
    PRECOPY = "precopy"
    SWITCHOVER = "switchover"


@dataclass(frozen=True)
class RoundStats:
    round: int                 # 0 for the first (every written page)
    pages_sent: int            # in this round
    pages_left: int            # dirty now, i.e. dirtied while this round was sent
    bandwidth_bps: float       # bytes per second, measured over the pre-copy so far
    throttle: float            # SDPS fraction in force during this round
    round_trip_s: float = 0.0  # the link's round-trip time, as measured so far (0: unknown or negligible)


@dataclass(frozen=True)
class Decision:
    step: Step
    throttle: float
    forced: bool = False


@dataclass(frozen=True)
class PrecopyPolicy:
    switchover_goal_s: float = 0.5
    max_rounds: int = 30
    sdps_initial: float = 0.2
    sdps_step: float = 0.1
    sdps_max: float = 0.99
    small_pages: int = 64          # under 256 KiB another round is not worth its trip

    def decide(self, stats: RoundStats) -> Decision:
        transfer_s = max(self.switchover_goal_s - 2 * stats.round_trip_s, 0.0)   # what the round trips leave
        fits = stats.pages_left * PAGE_SIZE <= transfer_s * stats.bandwidth_bps or stats.pages_left <= self.small_pages
        halved = stats.pages_left * 2 <= stats.pages_sent
        last_round = stats.round + 1 >= self.max_rounds
        if fits:
            if stats.pages_left <= self.small_pages or not halved or last_round:
                return Decision(Step.SWITCHOVER, stats.throttle)
            return Decision(Step.PRECOPY, stats.throttle)
        if last_round:
            return Decision(Step.SWITCHOVER, stats.throttle, forced=True)
        if halved:
            return Decision(Step.PRECOPY, stats.throttle)
        return Decision(Step.PRECOPY, self.raise_throttle(stats.throttle))

    def raise_throttle(self, throttle: float) -> float:
        if throttle <= 0.0:
            return self.sdps_initial
        return min(self.sdps_max, round(throttle + self.sdps_step, 4))

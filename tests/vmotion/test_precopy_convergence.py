"""When pre-copy stops and how SDPS throttles: one decision per round, table-driven (rows V2-V4)."""

from __future__ import annotations

import pytest

from linkedmode.vmotion.convergence import PrecopyPolicy, RoundStats, Step

MBPS = 1e6
PAGES_PER_MB = 256

# round, pages sent, pages left, bandwidth MB/s, throttle -> step, new throttle, forced
CASES = [
    # fits the 0.5 s goal and is tiny: switch over
    ((3, 500, 10, 100, 0.0), (Step.SWITCHOVER, 0.0, False)),
    # fits the goal but still halving fast: one more cheap round shortens the stun
    ((1, 20_000, 1_000, 100, 0.0), (Step.PRECOPY, 0.0, False)),
    # fits the goal and stopped halving: switch over
    ((2, 1_000, 900, 100, 0.3), (Step.SWITCHOVER, 0.3, False)),
    # does not fit, but shrinking fast: keep going, no throttle
    ((0, 262_144, 20 * PAGES_PER_MB, 10, 0.0), (Step.PRECOPY, 0.0, False)),
    # does not fit and the guest outruns the link: SDPS starts at 20 %
    ((1, 5_000, 5_000, 10, 0.0), (Step.PRECOPY, 0.2, False)),
    # ... and rises 10 points per such round
    ((2, 5_000, 4_000, 10, 0.2), (Step.PRECOPY, 0.3, False)),
    # ... up to 99 %
    ((5, 5_000, 5_000, 10, 0.99), (Step.PRECOPY, 0.99, False)),
    # the round limit without fitting: forced switchover (then held to max_switchover_seconds)
    ((29, 5_000, 5_000, 10, 0.99), (Step.SWITCHOVER, 0.99, True)),
]


@pytest.mark.parametrize("stats, expected", CASES)
def test_decision(stats: tuple, expected: tuple) -> None:
    round_no, sent, left, mbps, throttle = stats
    decision = PrecopyPolicy().decide(RoundStats(round_no, sent, left, mbps * MBPS, throttle))
    assert (decision.step, decision.throttle, decision.forced) == expected


def test_goal_is_the_switchover_time_at_the_measured_bandwidth() -> None:
    policy = PrecopyPolicy(switchover_goal_s=0.5, small_pages=0)
    at_goal = int(0.5 * 100 * MBPS / 4096)
    assert policy.decide(RoundStats(1, 10 * at_goal, at_goal, 100 * MBPS, 0.0)).step is Step.PRECOPY   # halving
    assert policy.decide(RoundStats(1, at_goal, at_goal, 100 * MBPS, 0.0)).step is Step.SWITCHOVER
    assert policy.decide(RoundStats(1, at_goal, at_goal + 1, 100 * MBPS, 0.0)).step is Step.PRECOPY

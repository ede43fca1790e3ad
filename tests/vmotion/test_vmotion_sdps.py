"""A guest that dirties faster than the link: SDPS throttles it until pre-copy converges (row V3); one that
cannot converge fails at max_switchover_seconds and goes on running on the source (rows V4, V5)."""

from __future__ import annotations

import pytest
from vmotion_helpers import secrets_pair

from linkedmode.model.faults import Timedout
from linkedmode.vmotion import GuestMemory, GuestWorkload, MigrationOptions, OutgoingMigration, PrecopyPolicy
from linkedmode.vmotion.precopy import MigrationProgress


def test_guest_outrunning_the_link_converges_through_throttling(listener) -> None:
    memory = GuestMemory(8)
    memory.fill_random(0.25)
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 8)
    progress: list[MigrationProgress] = []
    options = MigrationOptions(bandwidth_limit_mbps=20,
                               policy=PrecopyPolicy(switchover_goal_s=0.02, sdps_step=0.2))
    with GuestWorkload(memory, dirty_rate_mbps=60, working_set_mb=2, seed=3) as workload:
        result = OutgoingMigration(memory, listener.address, source, workload=workload, options=options,
                                   progress=progress.append).run()
        assert incoming.wait(5).digest() == memory.digest()
    throttles = [p.throttle for p in progress]
    assert result.throttle >= 0.4 and not result.forced_switchover
    assert throttles == sorted(throttles) and throttles[0] == 0.0          # progressively harder
    assert progress[-1].pages_left * 4096 <= 0.02 * progress[-1].bandwidth_mbps * 1e6   # converged into the goal


def test_switchover_over_the_limit_fails_and_the_guest_resumes_on_the_source(listener) -> None:
    memory = GuestMemory(8)
    memory.fill_random(0.25)
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 8)
    options = MigrationOptions(bandwidth_limit_mbps=10, max_switchover_seconds=0.05,
                               policy=PrecopyPolicy(switchover_goal_s=0.01, sdps_max=0.3, max_rounds=3))
    with GuestWorkload(memory, dirty_rate_mbps=80, working_set_mb=2, seed=4) as workload:
        with pytest.raises(Timedout, match="max_switchover_seconds"):
            OutgoingMigration(memory, listener.address, source, workload=workload, options=options).run()
        assert workload.running and not workload.stunned and workload.throttle_fraction == 0.0
    with pytest.raises(Exception) as info:
        incoming.wait(5)
    assert "max_switchover_seconds" in str(info.value) and incoming.memory is None
    assert source.wiped and destination.wiped

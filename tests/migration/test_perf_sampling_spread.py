"""Row X5, how sampling is spread: a vCenter asks its hosts one at a time, each at its own offset into
the sampling interval, never all at once (a whole vCenter's hosts asked back to back held the calls of
the process for the time of all their answers); and the history ages by time, a host at a time."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest
from perf_fakes import FakeInventory

from linkedmode.model.inventory import Host, Vm
from linkedmode.model.settings import PowerState
from linkedmode.reaper import Reaper
from linkedmode.topology.spec import VCenterTimeouts
from linkedmode.vcenter.perf_history import PerfHistory, VmCounters
from linkedmode.vcenter.perf_schedule import SamplingSchedule
from linkedmode.vcenter.performance import PerformanceManager

# -- the schedule, by the clock values given ----------------------------------------------------------


def test_hosts_there_at_the_start_are_spread_evenly_one_interval_on():
    schedule = SamplingSchedule(20.0, started=100.0)
    schedule.plan(["host-4", "host-2", "host-1", "host-3"], now=100.0)
    assert schedule.offsets() == {"host-1": 0.0, "host-2": 5.0, "host-3": 10.0, "host-4": 15.0}
    assert [schedule.due(h) for h in ("host-1", "host-2", "host-3", "host-4")] == [120.0, 125.0, 130.0, 135.0]
    assert schedule.next() == ("host-1", 120.0)


def test_a_host_is_asked_once_an_interval_and_one_asked_late_does_not_catch_up():
    schedule = SamplingSchedule(20.0, started=100.0)
    schedule.plan(["host-1", "host-2"], now=100.0)
    schedule.asked("host-1", 120.3)
    assert schedule.due("host-1") == 140.0                    # its offset of the next interval: no drift
    schedule.asked("host-2", 151.0)                           # due at 130, asked 21 s late
    assert schedule.due("host-2") == 170.0                    # not at 150, right after: no two in a row
    assert schedule.next() == ("host-1", 140.0)
    schedule.asked("host-1", 139.999)                         # a turn a hair early still moves it on
    assert schedule.due("host-1") == 160.0


def test_a_host_added_later_takes_the_widest_gap_and_a_host_removed_is_no_longer_asked():
    schedule = SamplingSchedule(20.0, started=100.0)
    schedule.plan(["host-1", "host-2", "host-3", "host-4"], now=100.0)
    schedule.plan(["host-1", "host-3", "host-4"], now=150.0)                 # host-2 went: a 10 s gap from 0
    assert "host-2" not in schedule.offsets()
    schedule.plan(["host-1", "host-3", "host-4", "host-9"], now=150.0)
    assert schedule.offsets()["host-9"] == 5.0
    assert schedule.due("host-9") == 165.0                                   # its offset, after it came
    schedule.plan(["host-1", "host-3", "host-4", "host-9", "host-8"], now=150.0)
    assert schedule.offsets()["host-8"] == 2.5                               # equal gaps: the earliest


def test_hosts_that_come_to_an_empty_schedule_are_spread_from_then_on_not_all_due_at_once():
    schedule = SamplingSchedule(10.0, started=0.0)
    schedule.plan([], now=0.0)
    assert schedule.next() is None
    schedule.plan(["host-1", "host-2"], now=95.0)
    assert sorted(schedule.due(h) for h in ("host-1", "host-2")) == [100.0, 105.0]


def test_an_interval_that_is_no_interval_is_refused():
    with pytest.raises(ValueError):
        SamplingSchedule(0.0, started=0.0)


# -- the history, a host at a time ------------------------------------------------------------------


def counters(uptime: float, uuid: str = "uuid-1") -> VmCounters:
    return VmCounters(uuid, uptime, uptime / 10, 1, 1024)


def test_samples_keep_the_time_their_host_was_asked_and_age_out_by_time():
    history = PerfHistory(kept=3, interval=10.0)
    history.record({"vm-1": counters(1)}, at=100.0)
    history.record({"vm-2": counters(1, "uuid-2")}, at=105.0)              # another host, half an interval on
    history.record({"vm-1": counters(11)}, at=110.0)
    history.record({"vm-2": counters(11, "uuid-2")}, at=115.0)
    assert [s.time for s in history.samples("vm-1")] == [100.0, 110.0]
    assert [s.time for s in history.samples("vm-2")] == [105.0, 115.0]
    history.record({"vm-2": counters(21, "uuid-2")}, at=131.0)             # vm-1 is no longer sampled
    assert [s.time for s in history.samples("vm-1")] == [110.0]            # 100 is older than 3 intervals
    history.record({"vm-2": counters(31, "uuid-2")}, at=141.0)
    assert history.samples("vm-1") == [] and not history.holds("vm-1")
    assert history.holds("vm-2") and history.series_count() == 1


def test_a_vm_keeps_at_most_the_samples_kept_however_often_it_is_sampled():
    history = PerfHistory(kept=3, interval=10.0)
    for n in range(6):                                     # asked by two hosts in one interval: a move
        history.record({"vm-1": counters(n + 1)}, at=100.0 + n)
    assert [s.time for s in history.samples("vm-1")] == [103.0, 104.0, 105.0]


# -- the sampler on a real reaper -------------------------------------------------------------------


class _Hosts:
    """Host agents that note when each host is asked (by the monotonic clock)."""

    def __init__(self, broken: str = ""):
        self.asked: list[tuple[str, float]] = []
        self.broken = broken

    def agent(self, host):
        hosts = self

        class Agent:
            def vm_stats(self, timeout):
                hosts.asked.append((host.name, time.monotonic()))
                if host.name == hosts.broken:
                    raise RuntimeError("an answer nobody expected")
                return [counters(10, uuid=f"uuid-{host.name}")]

            def vm_stats_later(self, timeout, answered):
                try:
                    stats = self.vm_stats(timeout)
                except RuntimeError as error:
                    answered(error)
                    return
                answered(stats)

        return Agent()

    def times(self, name: str) -> list[float]:
        return [at for asked, at in list(self.asked) if asked == name]


def estate_of(count: int) -> FakeInventory:
    objects: list[object] = []
    for n in range(1, count + 1):
        objects.append(Host(moid=f"host-{n}", name=f"esx-{n}"))
        objects.append(Vm(moid=f"vm-{n}", name=f"vm-{n}", instance_uuid=f"uuid-esx-{n}", host=f"host-{n}",
                          power_state=PowerState.POWERED_ON))
    return FakeInventory(*objects)


def wait_until(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time given"
        time.sleep(0.02)


def test_hosts_are_asked_one_at_a_time_spread_over_the_interval_each_once_an_interval():
    interval, count = 1.0, 5
    state, hosts = estate_of(count), _Hosts()
    perf = PerformanceManager(state, hosts, VCenterTimeouts(perf_interval=interval))
    reaper = Reaper("vc-spread")
    try:
        started = time.monotonic()
        perf.start(reaper)
        assert reaper.pending() == ["sample performance"]
        wait_until(lambda: all(len(hosts.times(f"esx-{n}")) >= 3 for n in range(1, count + 1)), 20)
    finally:
        reaper.stop()
    first = sorted(hosts.times(f"esx-{n}")[0] for n in range(1, count + 1))
    assert first[0] >= started + interval * 0.9                        # the first pass, one interval on
    # Spread: all of a vCenter's hosts asked at once span a few milliseconds; here, most of the interval,
    # and at most one pair (one turn held up by a busy machine) closer than half a host's share of it.
    assert first[-1] - first[0] >= interval * 0.5
    assert sum(1 for a, b in pairwise(first) if b - a < interval / count / 2) <= 1
    for n in range(1, count + 1):
        times = hosts.times(f"esx-{n}")
        assert all(interval * 0.5 <= b - a <= interval * 2.5 for a, b in pairwise(times))
    # a sample is dated when its host was asked: the VMs of different hosts have different times
    stamps = sorted(perf.history.samples(f"vm-{n}")[0].time for n in range(1, count + 1))
    assert stamps[-1] - stamps[0] >= interval * 0.5


def test_a_host_added_is_asked_from_then_on_and_a_host_removed_no_more():
    interval = 0.4
    state, hosts = estate_of(2), _Hosts()
    perf = PerformanceManager(state, hosts, VCenterTimeouts(perf_interval=interval))
    reaper = Reaper("vc-changes")
    try:
        perf.start(reaper)
        wait_until(lambda: len(hosts.times("esx-1")) >= 1 and len(hosts.times("esx-2")) >= 1, 10)
        state.add(Host(moid="host-3", name="esx-3"))
        state.add(Vm(moid="vm-3", name="vm-3", instance_uuid="uuid-esx-3", host="host-3", power_state=PowerState.POWERED_ON))
        state.remove("host-2")
        removed = time.monotonic()
        wait_until(lambda: len(hosts.times("esx-3")) >= 2, 10)
    finally:
        reaper.stop()
    assert all(at < removed + interval for at in hosts.times("esx-2"))   # a turn already under way, at most
    assert len(perf.history.samples("vm-3")) >= 2


def test_a_host_whose_answer_breaks_the_turn_is_still_asked_once_an_interval():
    interval = 0.2
    state, hosts = estate_of(2), _Hosts(broken="esx-1")
    perf = PerformanceManager(state, hosts, VCenterTimeouts(perf_interval=interval))
    reaper = Reaper("vc-broken")
    try:
        perf.start(reaper)
        wait_until(lambda: len(hosts.times("esx-2")) >= 4, 10)
        asked = len(hosts.times("esx-1"))
    finally:
        reaper.stop()
    assert 2 <= asked <= 6                                 # not again and again at once
    assert len(perf.history.samples("vm-2")) >= 4 and perf.history.samples("vm-1") == []

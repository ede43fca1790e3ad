"""PerformanceManager of one vCenter (row X5): every `timeouts.perf_interval` it asks each connected
host that runs its VMs for their counters, and keeps the samples in its PerfHistory; QueryPerf reads them.

Each host is asked at its own offset into the interval (perf_schedule.py), one host per turn of the
vCenter's reaper, so that sampling costs the vCenter's calls at most the time of one host's answer at
a time, never that of the whole vCenter. A sample is dated when its host was asked. A host that does
not answer within its time gives no sample this interval, as a host that does not respond in vSphere.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..model.faults import Fault, NotFound
from ..model.inventory import HOST_CONNECTED, Host, Vm
from ..model.settings import PowerState
from ..model.validation import whole_number
from ..reaper import Reaper
from ..topology.spec import VCenterTimeouts
from .host_client import HostConnections
from .perf_history import PERF_SAMPLES, PerfHistory, PerfSample, VmCounters
from .perf_schedule import SamplingSchedule
from .state import VCenterState

log = logging.getLogger(__name__)

ASK_FLOOR = 1.0       # seconds a host may always take to answer

@dataclass(frozen=True)
class PerfQueryResult:
    vm: str                     # moid
    instance_uuid: str
    interval_seconds: float
    samples: list[PerfSample]
    departed: bool              # the VM left this vCenter: what stayed behind


class PerformanceManager:
    def __init__(self, state: VCenterState, hosts: HostConnections, timeouts: VCenterTimeouts) -> None:
        self.state = state
        self.hosts = hosts
        self.interval = timeouts.perf_interval
        self.history = PerfHistory(PERF_SAMPLES, self.interval)
        # A host has one interval to answer, or the time it has to answer a heartbeat, whichever is
        # shorter, but 1 s at least; one that takes longer gives no sample this interval.
        self._ask_seconds = max(ASK_FLOOR, min(self.interval, timeouts.host_heartbeat))
        self._running: dict[str, str] = {}       # instance UUID -> moid of the VMs that ran when last looked
        self._lock = threading.Lock()
        self._reaper: Reaper | None = None
        self._schedule: SamplingSchedule | None = None
        self._planned = 0.0                      # when the schedule last took the inventory's hosts

    def start(self, reaper: Reaper) -> None:
        """Sampling from now on, on `reaper`: each host of the inventory at its offset of every interval."""
        with self._lock:
            if self._reaper is not None:
                return
            self._reaper = reaper
            now = time.monotonic()
            self._schedule = SamplingSchedule(self.interval, now)
            self._schedule.plan(self._sampled_hosts(), now)
            self._planned = now
            self._arm()

    def _arm(self) -> None:
        """The next turn, when the next host is due (or a while later when there is no host yet)."""
        assert self._reaper is not None and self._schedule is not None
        upcoming = self._schedule.next()
        wait = self.interval if upcoming is None else upcoming[1] - time.monotonic()
        self._reaper.after(max(0.0, wait), self._turn, name="sample performance")

    def _turn(self) -> None:
        """One turn of the reaper: the host due, if any (and once an interval, the hosts as the inventory
        has them: those added get an offset, those removed lose theirs)."""
        with self._lock:
            schedule = self._schedule
            if schedule is None:
                return
            now = time.monotonic()
            if now >= self._planned + self.interval:     # hosts come and go seldom: looked at once an interval
                schedule.plan(self._sampled_hosts(), now)
                self._planned = now
            upcoming = schedule.next()
        try:
            if upcoming is not None and upcoming[1] <= now:
                self._ask(self.state.find(Host, moid=upcoming[0]))
        except NotFound:
            pass      # the host left the inventory: the next turn's plan drops it
        finally:
            with self._lock:
                if upcoming is not None and upcoming[1] <= now:
                    schedule.asked(upcoming[0], time.monotonic())     # whatever came of it: never asked again at once
                if self._schedule is schedule:
                    self._arm()

    def _sampled_hosts(self) -> list[str]:
        return [host.moid for host in self.state.all(Host)]

    def sample(self) -> int:
        """Every host at once, now (for figures: the sampler itself asks one host at a time). Returns
        how many samples were taken."""
        deadline = time.monotonic() + self._ask_seconds
        taken = 0
        for host in self.state.all(Host):
            left = deadline - time.monotonic()
            if left <= 0:
                log.debug("performance sampling out of time: no sample from host %s", host.name)
                continue
            taken += self.sample_host(host, left)
        return taken

    def sample_host(self, host: Host, timeout: float | None = None) -> int:
        """A sample of each VM of this vCenter that runs on `host` (as the inventory says), dated when
        the host was asked: one that left before the answer came back gets none. Returns how many."""
        if host.connection_state != HOST_CONNECTED:
            return 0
        asked = time.time()
        try:
            counters = self.hosts.agent(host).vm_stats(timeout or self._ask_seconds)
        except Fault as fault:
            log.debug("no performance sample from host %s: %s", host.name, fault)
            return 0
        return self._take(host, counters, asked)

    def _ask(self, host: Host) -> None:
        """`sample_host` without waiting for the answer: the reaper that asks serves the vCenter's other
        deadlines too (expiries, settling), and a host that does not answer must not hold it."""
        if host.connection_state != HOST_CONNECTED:
            return
        asked = time.time()

        def answered(counters: list[VmCounters] | Exception) -> None:
            if isinstance(counters, Exception):
                log.debug("no performance sample from host %s: %s", host.name, counters)
                return
            try:
                self._take(host, counters, asked)
            except Exception:
                log.exception("recording the performance sample of host %s failed", host.name)

        try:
            self.hosts.agent(host).vm_stats_later(self._ask_seconds, answered)
        except Fault as fault:
            log.debug("no performance sample from host %s: %s", host.name, fault)

    def _take(self, host: Host, counters: list[VmCounters], asked: float) -> int:
        taken = self._ours(host, counters)
        if taken:
            self.history.record(taken, asked)
        return len(taken)

    def _ours(self, host: Host, counters: list[VmCounters]) -> dict[str, VmCounters]:
        """moid -> counters of each VM the host runs that the inventory has, running on that host, now
        (after the host answered). The VMs that run are found by instance UUID in a map kept from one
        host to the next, read again from the inventory only when a host names a VM the map misses."""
        taken, missed = self._match(host, counters)
        if missed:
            self._running = {vm.instance_uuid: vm.moid for vm in self.state.all(Vm) if vm.power_state == PowerState.POWERED_ON}
            taken, _ = self._match(host, counters)
        return taken

    def _match(self, host: Host, counters: list[VmCounters]) -> tuple[dict[str, VmCounters], bool]:
        """What `_ours` returns, by the map as it is, and whether the map missed a VM."""
        taken, missed = {}, False
        for c in counters:
            vm = self._vm(self._running.get(c.instance_uuid))
            if vm is None or vm.instance_uuid != c.instance_uuid or vm.power_state != PowerState.POWERED_ON:
                missed = True
            elif vm.host == host.moid:
                taken[vm.moid] = c
        return taken, missed

    def _vm(self, moid: str | None) -> Vm | None:
        if moid is None:
            return None
        try:
            return self.state.get(moid, Vm)
        except NotFound:
            return None

    def query(self, moid: str, name: str, max_sample: int) -> PerfQueryResult:
        """QueryPerf of one VM: by moid or name in this vCenter's inventory, or the moid of a VM that left
        whose samples are still here."""
        newest = whole_number("max_sample", max_sample, 0, PERF_SAMPLES)
        try:
            vm = self.state.find(Vm, moid=moid, name=name)
        except NotFound:
            if not (moid and self.history.holds(moid)):
                raise
            return PerfQueryResult(moid, self.history.instance_uuid(moid), self.interval,
                                   self.history.samples(moid, newest), departed=True)
        return PerfQueryResult(vm.moid, vm.instance_uuid, self.interval, self.history.samples(vm.moid, newest), departed=False)

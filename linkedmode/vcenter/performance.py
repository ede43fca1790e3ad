"""PerformanceManager of one vCenter (row X5): every `timeouts.perf_interval` it asks each connected
host that runs its VMs for their counters, and keeps the samples in its PerfHistory; QueryPerf reads them.

The sampling round runs on the vCenter's reaper and is bounded in time: a host that does not answer
within it gives no sample this round, as a host that does not respond in vSphere.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ..model.faults import Fault, NotFound
from ..model.inventory import HOST_CONNECTED, Host, Vm
from ..model.settings import PowerState
from ..model.validation import whole_number
from ..reaper import Reaper, Scheduled
from ..topology.spec import VCenterTimeouts
from .host_client import HostConnections
from .perf_history import PERF_SAMPLES, PerfHistory, PerfSample
from .state import VCenterState

log = logging.getLogger(__name__)

ROUND_FLOOR = 1.0       # seconds a sampling round may always spend asking its hosts


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
        self.history = PerfHistory()
        # A round runs on the reaper: it asks its hosts for at most this long (one interval, or the time a
        # host has to answer a heartbeat, whichever is shorter, but 1 s at least); hosts not asked by then
        # give no sample this round.
        self._round_seconds = max(ROUND_FLOOR, min(self.interval, timeouts.host_heartbeat))
        self._scheduled: Scheduled | None = None

    def start(self, reaper: Reaper) -> None:
        if self._scheduled is None:
            self._scheduled = reaper.every(self.interval, self._round, name="sample performance")

    def _round(self) -> None:
        self.sample()

    def sample(self) -> int:
        """One round: a sample of every powered-on VM whose host answers. Returns how many were taken.
        A sample's time is when its round began, before any host was asked: a VM that leaves during the
        round gets no sample dated after it left."""
        began = time.time()
        running = [vm for vm in self.state.all(Vm) if vm.power_state == PowerState.POWERED_ON]
        wanted = {vm.host for vm in running}
        counters = {}
        deadline = time.monotonic() + self._round_seconds
        for host in self.state.all(Host):
            if host.moid not in wanted or host.connection_state != HOST_CONNECTED:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                log.debug("performance round out of time: no sample from host %s", host.name)
                continue
            try:
                counters.update({c.instance_uuid: c for c in self.hosts.agent(host).vm_stats(left)})
            except Fault as fault:
                log.debug("no performance sample from host %s: %s", host.name, fault)
        taken = {vm.moid: counters[vm.instance_uuid] for vm in running if vm.instance_uuid in counters}
        self.history.record(taken, began)
        return len(taken)

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

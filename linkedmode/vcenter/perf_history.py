"""One vCenter's realtime performance history (row X5): per VM, its samples of the last PERF_SAMPLES
sampling intervals, in compact typed arrays.

A history belongs to the managed object, as in vSphere: it is kept by moid, so it follows a VM that
moves between hosts of this vCenter, and a VM that arrives from another vCenter (under a new moid)
starts with none. What was sampled of a VM that left stays here, under its old moid, until its samples
age out; then the series goes. Only VMs that run are sampled, so an estate of powered-off VMs costs
nothing, and a running one at most PERF_SAMPLES * 16 bytes (time, CPU, memory).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

PERF_SAMPLES = 180              # realtime: one hour of 20-second samples
MAX_MEM_KB = 0xFFFF_FFFF        # what one sample holds (4 TB)


class VmCounters(NamedTuple):
    """What a host counts of one VM that runs there, since it started running there. A named tuple:
    made for each VM of each sample, in half the time of a frozen dataclass."""

    instance_uuid: str
    uptime_seconds: float
    cpu_seconds: float
    num_cpu: int
    mem_consumed_kb: int


@dataclass(frozen=True, slots=True)
class PerfSample:
    time: float                 # seconds since the epoch: the end of the interval
    cpu_usage_percent: float    # CPU time used over the interval, of what its vCPUs could use
    mem_consumed_kb: int


def cpu_usage_percent(now: VmCounters, before: VmCounters | None) -> float:
    """cpu.usage over the interval from ``before`` to ``now``; over the whole run when the counters began
    again (the VM was started, or moved, since ``before``) or there is no ``before``."""
    if before is not None and now.uptime_seconds > before.uptime_seconds and now.cpu_seconds >= before.cpu_seconds:
        used, elapsed = now.cpu_seconds - before.cpu_seconds, now.uptime_seconds - before.uptime_seconds
    else:
        used, elapsed = now.cpu_seconds, now.uptime_seconds
    if elapsed <= 0:
        return 0.0
    return min(100.0, max(0.0, 100.0 * used / (elapsed * max(1, now.num_cpu))))


class _Series:
    __slots__ = ("cpu", "instance_uuid", "last", "mem", "times")

    def __init__(self, instance_uuid: str) -> None:
        self.instance_uuid = instance_uuid
        self.times = array("d")         # when each sample was taken (seconds since the epoch)
        self.cpu = array("f")
        self.mem = array("I")
        self.last: VmCounters | None = None

    def drop_before(self, first: int) -> None:
        del self.times[:first], self.cpu[:first], self.mem[:first]

    def first_after(self, cutoff: float) -> int:
        """The index of the first sample taken after `cutoff` (len(times) when none is)."""
        return bisect.bisect_right(self.times, cutoff)


class PerfHistory:
    """Samples are recorded a host at a time (each dated when its host was asked) and age out after
    `kept` sampling intervals; a VM keeps `kept` samples at most."""

    def __init__(self, kept: int = PERF_SAMPLES, interval: float = 20.0, clock: Callable[[], float] = time.time) -> None:
        self.kept = kept
        self.interval = interval
        self._clock = clock
        self._series: dict[str, _Series] = {}
        self._newest = -math.inf            # the latest time recorded: what ageing counts from
        self._swept = -math.inf             # when series nobody records any more were last looked at
        self._lock = threading.Lock()

    @property
    def _cutoff(self) -> float:
        """Samples taken at or before this are older than `kept` intervals."""
        return self._newest - self.kept * self.interval

    def record(self, counters: Mapping[str, VmCounters], at: float | None = None) -> float:
        """Samples of the VMs given (moid -> its host's counters), taken at `at` (default: now); what
        is older than `kept` intervals goes, and series left empty with it. Returns the samples' time."""
        now = self._clock() if at is None else at
        with self._lock:
            self._newest = max(self._newest, now)
            cutoff = self._cutoff
            for moid, taken in counters.items():
                series = self._series.get(moid)
                if series is None or series.instance_uuid != taken.instance_uuid:
                    series = self._series[moid] = _Series(taken.instance_uuid)
                series.times.append(now)
                series.cpu.append(cpu_usage_percent(taken, series.last))
                series.mem.append(min(max(taken.mem_consumed_kb, 0), MAX_MEM_KB))
                series.last = taken
                if len(series.times) > self.kept or series.times[0] <= cutoff:
                    series.drop_before(max(len(series.times) - self.kept, series.first_after(cutoff)))
            if now - self._swept >= self.interval:     # once an interval: the series of VMs no longer sampled
                self._swept = now
                self._sweep(cutoff)
        return now

    def _sweep(self, cutoff: float) -> None:
        for moid, series in list(self._series.items()):
            if series.times and series.times[0] <= cutoff:
                series.drop_before(series.first_after(cutoff))
            if not series.times:
                del self._series[moid]

    def holds(self, moid: str) -> bool:
        with self._lock:
            series = self._series.get(moid)
            return series is not None and bool(series.times) and series.times[-1] > self._cutoff

    def instance_uuid(self, moid: str) -> str:
        with self._lock:
            series = self._series.get(moid)
            return series.instance_uuid if series is not None else ""

    def samples(self, moid: str, newest: int = 0) -> list[PerfSample]:
        """The VM's samples, oldest first; only the newest `newest` of them when it is not 0."""
        with self._lock:
            series = self._series.get(moid)
            if series is None:
                return []
            first = series.first_after(self._cutoff)
            if newest:
                first = max(first, len(series.times) - newest)
            return [PerfSample(series.times[i], float(series.cpu[i]), series.mem[i]) for i in range(first, len(series.times))]

    def series_count(self) -> int:
        with self._lock:
            return len(self._series)

    def clear(self) -> None:
        with self._lock:
            self._series.clear()
            self._newest = self._swept = -math.inf

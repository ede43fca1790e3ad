"""One vCenter's realtime performance history (row X5): per VM, the samples of its last PERF_SAMPLES
sampling rounds, in compact typed arrays.

A history belongs to the managed object, as in vSphere: it is kept by moid, so it follows a VM that
moves between hosts of this vCenter, and a VM that arrives from another vCenter (under a new moid)
starts with none. What was sampled of a VM that left stays here, under its old moid, until its samples
age out; then the series goes. Only VMs that run are sampled, so an estate of powered-off VMs costs
nothing, and a running one at most PERF_SAMPLES * 12 bytes.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PERF_SAMPLES = 180              # realtime: one hour of 20-second samples
MAX_MEM_KB = 0xFFFF_FFFF        # what one sample holds (4 TB)


@dataclass(frozen=True, slots=True)
class VmCounters:
    """What a host counts of one VM that runs there, since it started running there."""

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
    __slots__ = ("cpu", "instance_uuid", "last", "mem", "ticks")

    def __init__(self, instance_uuid: str) -> None:
        self.instance_uuid = instance_uuid
        self.ticks = array("I")         # the round of each sample
        self.cpu = array("f")
        self.mem = array("I")
        self.last: VmCounters | None = None


class PerfHistory:
    def __init__(self, kept: int = PERF_SAMPLES, clock: Callable[[], float] = time.time) -> None:
        self.kept = kept
        self._clock = clock
        self._series: dict[str, _Series] = {}
        self._round = 0
        self._round_times: dict[int, float] = {}
        self._lock = threading.Lock()

    def record(self, counters: Mapping[str, VmCounters], at: float | None = None) -> float:
        """One sampling round: a sample of each VM given (moid -> its host's counters), taken at `at`
        (default: now); samples of rounds older than `kept` go, and series left empty with them.
        Returns the round's time."""
        now = self._clock() if at is None else at
        with self._lock:
            self._round += 1
            self._round_times[self._round] = now
            for moid, taken in counters.items():
                series = self._series.get(moid)
                if series is None or series.instance_uuid != taken.instance_uuid:
                    series = self._series[moid] = _Series(taken.instance_uuid)
                series.ticks.append(self._round)
                series.cpu.append(cpu_usage_percent(taken, series.last))
                series.mem.append(min(max(taken.mem_consumed_kb, 0), MAX_MEM_KB))
                series.last = taken
            self._expire()
        return now

    def _expire(self) -> None:
        oldest = self._round - self.kept + 1
        self._round_times.pop(oldest - 1, None)
        for moid, series in list(self._series.items()):
            if series.ticks and series.ticks[0] < oldest:
                gone = next((i for i, tick in enumerate(series.ticks) if tick >= oldest), len(series.ticks))
                del series.ticks[:gone], series.cpu[:gone], series.mem[:gone]
            if not series.ticks:
                del self._series[moid]

    def holds(self, moid: str) -> bool:
        with self._lock:
            return moid in self._series

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
            first = max(0, len(series.ticks) - newest) if newest else 0
            return [PerfSample(self._round_times[series.ticks[i]], float(series.cpu[i]), series.mem[i])
                    for i in range(first, len(series.ticks))]

    def series_count(self) -> int:
        with self._lock:
            return len(self._series)

    def clear(self) -> None:
        with self._lock:
            self._series.clear()
            self._round_times.clear()

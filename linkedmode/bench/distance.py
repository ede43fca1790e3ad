"""linkedmode bench distance: one VM migrated between two host processes across a vMotion link of
0, 10, 50 and 150 ms round-trip time (row V6), at a given rate, encrypted; what distance costs in
time, rounds, downtime and guest throttling.

The link is shaped by the emulator on the page stream (vmotion/link.py: no root needed). Every
figure is the median of the runs at that RTT; MB/s are bytes on the wire per second (10^6).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stream import TOPOLOGY, BenchSettings, Run, StreamBench

RTTS_MS = (0.0, 10.0, 50.0, 150.0)


@dataclass(frozen=True)
class DistanceSettings:
    memory_mb: int = 256
    dirty_rate_mbps: float = 20.0
    working_set_mb: int = 64
    rate_mbit: float = 1000.0        # 1 GbE
    rtts_ms: tuple[float, ...] = RTTS_MS
    runs: int = 2


def linked_topology(rtt_ms: float, rate_mbit: float) -> str:
    """The stream benchmark's two hosts, each sending across a link of that RTT and rate."""
    link = f"vmotion: {{link: {{rtt_ms: {rtt_ms:g}, rate_mbit: {rate_mbit:g}}}}}"
    return (TOPOLOGY.replace("memory_mb: 1048576}", f"memory_mb: 1048576, {link}}}"))


@dataclass(frozen=True)
class DistanceRow:
    rtt_ms: float
    runs: tuple[Run, ...]

    def figures(self) -> dict[str, float]:
        median = statistics.median
        return {
            "rtt_ms": self.rtt_ms,
            "MBps": round(median(r.MBps for r in self.runs), 1),
            "duration_ms": round(median(r.duration_ms for r in self.runs), 1),
            "downtime_ms": round(median(r.downtime_ms for r in self.runs), 1),
            "rounds": median(r.rounds for r in self.runs),
            "max_throttle": round(max(r.max_throttle for r in self.runs), 3),
        }


def run_distance(settings: DistanceSettings, progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    rows = []
    for rtt_ms in settings.rtts_ms:
        with tempfile.TemporaryDirectory(prefix="linkedmode-distance-") as state_dir:
            bench = StreamBench(BenchSettings(settings.memory_mb, settings.dirty_rate_mbps, settings.working_set_mb, settings.runs),
                                Path(state_dir), linked_topology(rtt_ms, settings.rate_mbit))
            try:
                bench.power_on()
                runs = []
                for i in range(settings.runs):
                    run = bench.migrate(encrypted=True)
                    runs.append(run)
                    progress(f"{rtt_ms:5.0f} ms RTT run {i + 1}: {run.MBps:7.1f} MB/s  {run.duration_ms:7.0f} ms  "
                             f"downtime {run.downtime_ms:6.1f} ms  {run.rounds} rounds  throttle {run.max_throttle:.2f}")
                rows.append(DistanceRow(rtt_ms, tuple(runs)).figures())
            finally:
                bench.close()
    return {"memory_mb": settings.memory_mb, "dirty_rate_mbps": settings.dirty_rate_mbps,
            "working_set_mb": settings.working_set_mb, "rate_mbit": settings.rate_mbit, "runs": settings.runs,
            "encrypted": True, "rows": rows}

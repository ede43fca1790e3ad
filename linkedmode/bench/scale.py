"""linkedmode bench scale: a generated estate's start time and memory at three sizes, and its inventory calls.

* start: for half, the whole and double the estate (default 2 vCenters x 32 hosts, 5,000 VMs of 1-8
  GiB), a fresh process (`scale_estate`) starts it and answers ListVms over mutual TLS; the figure is
  from spawning that process to the answer, with its resident memory then.
* calls: the whole estate in its own process; ``load_processes`` other processes run the load
  (`call_load`): ``clients`` clients, each its own user, certificate and mutual-TLS connection,
  calling GetVm on VMs spread over the estate, twice for ``seconds``:
  - saturated: each client calls again as soon as its answer comes (at most ``max_calls``): the most
    calls per second the estate answers, and the latency then (64 calls always waiting, so the mean
    latency is 64 / calls per second whatever the server does);
  - at a rate: ``rate`` calls a second in all, each client sending its calls on schedule; a call's
    latency counts from when it was due, so a server that falls behind shows in the figure instead
    of slowing the load (call_load.py).
  For each: calls per second, latency percentiles of the calls that answered, how many failed; and
  the CPU each side spent per call (on a shared machine the figure that moves least with what else runs).

Each part of the benchmark is one entry of ``SECTIONS``: a function of the settings that returns its
figures: the estate's start, inventory calls, and an evacuation across vCenters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .call_load import CallLoad, run_load
from .evacuation import run_evacuation_benchmark

Say = Callable[[str], None]


@dataclass(frozen=True)
class ScaleSettings:
    vms: int = 5000
    vcenters: int = 2
    hosts_per_vcenter: int = 32
    memory_mb: tuple[int, int] = (1024, 8192)
    sizes: tuple[float, ...] = (0.5, 1.0, 2.0)     # of `vms`, for the start figures
    clients: int = 64
    seconds: float = 10.0
    rate: float = 2000.0                            # calls a second offered in the paced figure; 0: none
    load_processes: int = 2                         # the clients spread over this many processes
    warmup_s: float = 1.0                           # of each load, first, not counted (fresh connections)
    max_calls: int = 200_000
    start_timeout_s: float = 600.0
    evacuation_vms: int = 64                        # running VMs on the host evacuated across vCenters
    evacuation_memory_mb: int = 256


def _estate_command(settings: ScaleSettings, vms: int, state_dir: Path, *, users: int = 0, serve: bool = False) -> list[str]:
    command = [sys.executable, "-m", "linkedmode.bench.scale_estate", "--vms", str(vms), "--vcenters", str(settings.vcenters),
               "--hosts-per-vcenter", str(settings.hosts_per_vcenter), "--memory-mb", *map(str, settings.memory_mb),
               "--users", str(users), "--state-dir", str(state_dir)]
    return [*command, "--serve"] if serve else command


class EstateProcess:
    """A generated estate in a child process, up until ``close``; ``figures`` is what it printed when it answered."""

    def __init__(self, settings: ScaleSettings, vms: int, *, users: int = 0, serve: bool = False) -> None:
        self._temp = tempfile.TemporaryDirectory(prefix="linkedmode-scale-")
        spawned = time.monotonic()
        self._process = subprocess.Popen(
            _estate_command(settings, vms, Path(self._temp.name) / "state", users=users, serve=serve),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert self._process.stdout is not None
            line = self._process.stdout.readline()       # the child prints its one line once it answered
            if not line:
                raise RuntimeError(f"the estate of {vms} VMs did not come up (exit code {self._process.wait()})")
            self.figures: dict[str, Any] = json.loads(line)
            self.figures["answered_after_s"] = round(time.monotonic() - spawned, 2)
        except BaseException:
            self.close()
            raise

    def cpu_seconds(self) -> float:
        """User and system CPU the estate's process has used so far."""
        with open(f"/proc/{self._process.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._temp.cleanup()

    def __enter__(self) -> EstateProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def measure_starts(settings: ScaleSettings, say: Say) -> dict[str, Any]:
    rows = []
    for fraction in settings.sizes:
        vms = max(1, round(settings.vms * fraction))
        with EstateProcess(settings, vms) as estate:
            figures = estate.figures
        say(f"start: {vms:6d} VMs answered after {figures['answered_after_s']:6.2f} s, "
            f"{figures['rss_mib']:7.1f} MiB resident")
        rows.append({"vms": vms, "answered_after_s": figures["answered_after_s"], "in_process_s": figures["start_s"],
                     "rss_mib": figures["rss_mib"], "peak_rss_mib": figures["peak_rss_mib"]})
    whole = next((r for r in rows if r["vms"] == settings.vms), rows[0])
    double = next((r for r in rows if r["vms"] == 2 * settings.vms), None)
    summary: dict[str, Any] = {"sizes": rows, "start_s": whole["answered_after_s"], "rss_mib": whole["rss_mib"]}
    if double is not None:
        summary["double_start_ratio"] = round(double["answered_after_s"] / whole["answered_after_s"], 2)
        summary["double_rss_ratio"] = round(double["rss_mib"] / whole["rss_mib"], 2)
    return summary


def measure_calls(settings: ScaleSettings, say: Say) -> dict[str, Any]:
    with EstateProcess(settings, settings.vms, users=settings.clients, serve=True) as estate:
        load = CallLoad(estate.figures["address"], estate.figures["pki"], settings.vms, settings.vcenters, settings.clients,
                        settings.seconds, max_calls=settings.max_calls, processes=settings.load_processes,
                        warmup=settings.warmup_s)
        saturated = _measured(estate, load)
        say(f"calls, saturated: {saturated['calls_per_s']:.0f}/s from {settings.clients} clients, "
            f"p50 {saturated['p50_ms']:.1f} ms, p99 {saturated['p99_ms']:.1f} ms, {saturated['failed']} failed")
        figures = {"max_calls_per_s": saturated["calls_per_s"], "saturated": saturated}
        if settings.rate > 0:
            at_rate = _measured(estate, replace(load, rate=settings.rate))
            say(f"calls at {settings.rate:g}/s offered: {at_rate['calls_per_s']:.0f}/s answered, "
                f"p50 {at_rate['p50_ms']:.1f} ms, p99 {at_rate['p99_ms']:.1f} ms, {at_rate['failed']} failed")
            figures.update({"calls_per_s": at_rate["calls_per_s"], "p50_ms": at_rate["p50_ms"],
                            "p99_ms": at_rate["p99_ms"], "failed": at_rate["failed"], "at_rate": at_rate})
    return figures


def _measured(estate: EstateProcess, load: CallLoad) -> dict[str, Any]:
    """One load's figures, with the CPU each side spent per call sent, warm-up included (the estate's
    counted from when every client has connected)."""
    server_cpu = [0.0]
    figures = run_load(load, started=lambda: server_cpu.__setitem__(0, estate.cpu_seconds()))
    server_cpu[0] = estate.cpu_seconds() - server_cpu[0]
    calls = max(figures["calls"] + figures["failed"] + figures["warmup_calls"], 1)
    figures["server_cpu_ms_per_call"] = round(server_cpu[0] / calls * 1e3, 3)
    figures["client_cpu_ms_per_call"] = round(figures.pop("client_cpu_s") / calls * 1e3, 3)
    return figures


# The parts of the benchmark, in order: each takes the settings and a progress printer, returns its figures.
def measure_evacuation(settings: ScaleSettings, say: Say) -> dict[str, Any]:
    """A host of 64 running VMs of 256 MiB evacuated into the linked vCenter (linkedmode bench evacuate)."""
    return run_evacuation_benchmark(settings.evacuation_vms, settings.evacuation_memory_mb, say=say)


SECTIONS: tuple[tuple[str, Callable[[ScaleSettings, Say], dict[str, Any]]], ...] = (
    ("start", measure_starts),
    ("calls", measure_calls),
    ("evacuation", measure_evacuation),
)


def run_scale_bench(settings: ScaleSettings, say: Say, sections: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every section (or those named), each figure under its section's name, with the machine they ran on."""
    summary: dict[str, Any] = {"vms": settings.vms, "vcenters": settings.vcenters,
                               "hosts_per_vcenter": settings.hosts_per_vcenter, "memory_mb": list(settings.memory_mb),
                               "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    for name, measure in SECTIONS:
        if not sections or name in sections:
            summary[name] = measure(settings, say)
    return summary

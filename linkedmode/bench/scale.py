"""linkedmode bench scale: a generated estate's start time and memory at three sizes, and its inventory calls.

* start: for half, the whole and double the estate (default 2 vCenters x 32 hosts, 5,000 VMs of 1-8
  GiB), a fresh process (`scale_estate`) starts it and answers ListVms over mutual TLS; the figure is
  from spawning that process to the answer, with its resident memory then.
* calls: the whole estate in its own process; this process runs the load: ``clients`` clients, each
  its own user, certificate and mutual-TLS connection, calling GetVm on VMs spread over the estate,
  twice for ``seconds``:
  - saturated: each client calls again as soon as its answer comes (at most ``max_calls``): the most
    calls per second the estate answers, and the latency then (64 calls always waiting, so the mean
    latency is 64 / calls per second whatever the server does);
  - at a rate: ``rate`` calls a second in all, each sent at its time whether earlier ones have
    answered or not (an open loop, as a load of many independent clients arrives); a call's latency
    counts from when it was due, so a client that falls behind shows in the figure.
  For each: calls per second, latency percentiles of the calls that answered, how many failed; and
  the CPU each side spent per call (on a shared machine the figure that moves least with what else runs).

Each part of the benchmark is one entry of ``SECTIONS``: a function of the settings that returns its
figures: the estate's start, inventory calls, and an evacuation across vCenters.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from ..crypto.domain_pki import Pki
from ..crypto.identity import Identity
from ..rpc.tls import CHANNEL_OPTIONS
from ..v1 import common_pb2, vcenter_pb2_grpc
from .evacuation import run_evacuation_benchmark
from .scale_estate import BENCH_DOMAIN, bench_user

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
    rate: float = 2000.0                            # calls a second offered in the open-loop figure; 0: none
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
        address, pki = estate.figures["address"], Path(estate.figures["pki"])
        saturated = _measured(estate, lambda: _load(settings, address, pki, saturate=True))
        say(f"calls, saturated: {saturated['calls_per_s']:.0f}/s from {settings.clients} clients, "
            f"p50 {saturated['p50_ms']:.1f} ms, p99 {saturated['p99_ms']:.1f} ms, {saturated['failed']} failed")
        figures = {"max_calls_per_s": saturated["calls_per_s"], "saturated": saturated}
        if settings.rate > 0:
            at_rate = _measured(estate, lambda: _load(settings, address, pki, saturate=False))
            say(f"calls at {settings.rate:g}/s offered: {at_rate['calls_per_s']:.0f}/s answered, "
                f"p50 {at_rate['p50_ms']:.1f} ms, p99 {at_rate['p99_ms']:.1f} ms, {at_rate['failed']} failed")
            figures.update({"calls_per_s": at_rate["calls_per_s"], "p50_ms": at_rate["p50_ms"],
                            "p99_ms": at_rate["p99_ms"], "failed": at_rate["failed"], "at_rate": at_rate})
    return figures


def _measured(estate: EstateProcess, load: Callable[[], Any]) -> dict[str, Any]:
    """One load's figures, with the CPU each side spent per call answered."""
    server_cpu, client_cpu = estate.cpu_seconds(), time.process_time()
    figures: dict[str, Any] = asyncio.run(load())
    server_cpu, client_cpu = estate.cpu_seconds() - server_cpu, time.process_time() - client_cpu
    calls = max(figures["calls"], 1)
    figures["server_cpu_ms_per_call"] = round(server_cpu / calls * 1e3, 3)
    figures["client_cpu_ms_per_call"] = round(client_cpu / calls * 1e3, 3)
    return figures


async def _load(settings: ScaleSettings, address: str, pki: Path, *, saturate: bool) -> dict[str, Any]:
    server = Identity(BENCH_DOMAIN, "vcenter", "vc-01")
    channels = [_channel(address, pki, bench_user(n), server) for n in range(settings.clients)]
    names = [f"vm-{n:05d}" for n in range(1, settings.vms + 1, settings.vcenters)]      # vc-01's VMs
    latencies: list[float] = []
    failed: list[str] = []
    try:
        for channel in channels:                         # every handshake done before the clock starts
            await channel.channel_ready()
        stubs = [vcenter_pb2_grpc.VCenterStub(c) for c in channels]
        started = time.monotonic()
        if saturate:
            budget = max(1, settings.max_calls // settings.clients)
            deadline = started + settings.seconds
            await asyncio.gather(*(_client(stub, names[n::settings.clients] or names, budget, deadline, latencies, failed)
                                   for n, stub in enumerate(stubs)))
            elapsed = time.monotonic() - started
        else:
            await _open_loop(stubs, names, settings.rate, settings.seconds, latencies, failed)
            elapsed = settings.seconds        # the calls offered in that time, answered or not
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    latencies.sort()
    figures = {
        "clients": settings.clients, "calls": len(latencies), "failed": len(failed),
        "failures": sorted(set(failed))[:5], "seconds": round(elapsed, 2),
        "calls_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1e3, 2), "p99_ms": round(_percentile(latencies, 0.99) * 1e3, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1e3, 2) if latencies else 0.0,
    }
    if not saturate:
        figures["offered_per_s"] = settings.rate
    return figures


async def _open_loop(stubs: list[vcenter_pb2_grpc.VCenterAsyncStub], names: list[str], rate: float, seconds: float,
                     latencies: list[float], failed: list[str]) -> None:
    """``rate`` calls a second for ``seconds``, call n due at start + n / rate on client n % clients,
    each sent at its time without waiting for earlier answers; latency counts from when it was due."""
    clock = time.monotonic
    total, start = int(rate * seconds), clock() + 0.05
    pending: set[asyncio.Task[None]] = set()

    async def call(stub: vcenter_pb2_grpc.VCenterAsyncStub, name: str, due: float) -> None:
        try:
            await stub.GetVm(common_pb2.ObjectRef(name=name), timeout=10)
        except grpc.aio.AioRpcError as error:
            failed.append(error.code().name)
            return
        latencies.append(clock() - due)

    sent = 0
    while sent < total:
        now = clock()
        while sent < total and start + sent / rate <= now:       # every call due by now, late ones too
            task = asyncio.ensure_future(call(stubs[sent % len(stubs)], names[sent % len(names)], start + sent / rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - clock()))
    if pending:
        await asyncio.gather(*pending)


def _channel(address: str, pki: Path, user: str, server: Identity) -> grpc.aio.Channel:
    credential = Pki(pki).credential(Identity(BENCH_DOMAIN, "user", user))
    credentials = grpc.ssl_channel_credentials(root_certificates=credential.ca_pem, private_key=credential.key_pem,
                                               certificate_chain=credential.cert_pem)
    return grpc.aio.secure_channel(address, credentials,
                                   options=[*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", server.dns_name)])


async def _client(stub: vcenter_pb2_grpc.VCenterStub, names: list[str], budget: int, deadline: float,
                  latencies: list[float], failed: list[str]) -> None:
    clock = time.monotonic
    for n in range(budget):
        began = clock()
        if began >= deadline:
            return
        try:
            await stub.GetVm(common_pb2.ObjectRef(name=names[n % len(names)]), timeout=10)  # type: ignore[misc]  # on an aio channel the call is awaitable; the generated stub types the blocking one
        except grpc.aio.AioRpcError as error:
            failed.append(error.code().name)
            continue
        latencies.append(clock() - began)


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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

"""Inventory calls against a running vCenter from many mutual-TLS clients, spread over load processes.

Each client is a user of its own with its own certificate and connection. The clients are spread over
``processes`` spawned processes (clients n, n + processes, ...), so the load is not bounded by one
Python event loop: at 2,000 calls a second one loop spent most of a core driving the calls and sent
them late. Every process makes its connections first; the clock starts once all have (a barrier).

Two shapes of load:
* saturated (``rate`` 0): each client calls again as soon as its answer comes, for ``seconds`` or
  ``max_calls``: the most calls a second the vCenter answers;
* at a rate: ``rate`` calls a second in all, each client sending its calls on schedule (call n due
  at start + n / rate, client n % clients), a call's latency counted from when it was due, so a
  server that falls behind shows in the figure rather than slowing the load (as wrk2 measures).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import statistics
import threading
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
from .scale_estate import BENCH_DOMAIN, bench_user

CALL_TIMEOUT = 10.0
CONNECT_TIMEOUT = 30.0     # one client's connection and handshake
READY_TIMEOUT = 120.0      # spawning the processes and all their handshakes


class LoadFailed(Exception):
    """The load could not run: a process could not connect, or did not finish."""


@dataclass(frozen=True)
class CallLoad:
    address: str               # vc-01's API
    pki: str                   # the estate's PKI folder: each client's credential
    vms: int                   # of the estate; vc-01 holds every `vcenters`-th, from vm-00001
    vcenters: int
    clients: int
    seconds: float
    rate: float = 0.0          # calls a second in all; 0: saturated
    max_calls: int = 200_000   # saturated: at most this many in all
    processes: int = 2

    @property
    def names(self) -> list[str]:
        return [f"vm-{n:05d}" for n in range(1, self.vms + 1, self.vcenters)]


def run_load(load: CallLoad, started: Callable[[], None] | None = None) -> dict[str, Any]:
    """The load's figures; `started()` is called once every client has connected, as the clock starts."""
    processes = max(1, min(load.processes, load.clients))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes + 1), context.Queue()
    workers = [context.Process(target=_run_clients, args=(load, tuple(range(n, load.clients, processes)), barrier, results),
                               name=f"call-load-{n}", daemon=True) for n in range(processes)]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(READY_TIMEOUT)
        if started is not None:
            started()
        parts = [results.get(timeout=load.seconds + CALL_TIMEOUT + READY_TIMEOUT) for _ in workers]
    except (threading.BrokenBarrierError, queue.Empty):
        raise LoadFailed(_why_not(results, load.address)) from None
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    failures = [p["error"] for p in parts if p.get("error")]
    if failures:
        raise LoadFailed(f"a load process failed against {load.address}: {failures[0]}")
    return _figures(load, parts)


def _why_not(results: Any, address: str) -> str:
    try:
        reported = results.get(timeout=1)
    except queue.Empty:
        return f"the load processes did not connect to {address} in {READY_TIMEOUT:g} s"
    return f"a load process failed against {address}: {reported.get('error', 'it stopped early')}"


def _figures(load: CallLoad, parts: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(x for p in parts for x in p["latencies"])
    failed = [f for p in parts for f in p["failed"]]
    elapsed = load.seconds if load.rate else max(p["elapsed"] for p in parts)
    figures: dict[str, Any] = {
        "clients": load.clients, "processes": len(parts), "calls": len(latencies), "failed": len(failed),
        "failures": sorted(set(failed))[:5], "seconds": round(elapsed, 2),
        "calls_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1e3, 2), "p99_ms": round(_percentile(latencies, 0.99) * 1e3, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1e3, 2) if latencies else 0.0,
        "client_cpu_s": round(sum(p["cpu_s"] for p in parts), 3),
    }
    if load.rate:
        figures["offered_per_s"] = load.rate
    return figures


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- in a load process ------------------------------------------------------------------------------

def _run_clients(load: CallLoad, clients: tuple[int, ...], barrier: Any, results: Any) -> None:
    """A load process: clients n, n + processes, ... of the load."""
    try:
        results.put(asyncio.run(_clients(load, clients, barrier)))
    except BaseException as error:      # the parent reports it; a broken barrier frees the others
        barrier.abort()
        results.put({"error": f"{type(error).__name__}: {error}"})


async def _clients(load: CallLoad, clients: tuple[int, ...], barrier: Any) -> dict[str, Any]:
    server = Identity(BENCH_DOMAIN, "vcenter", "vc-01")
    channels = [_channel(load.address, Path(load.pki), bench_user(n), server) for n in clients]
    latencies: list[float] = []
    failed: list[str] = []
    try:
        for channel in channels:
            try:
                await asyncio.wait_for(channel.channel_ready(), CONNECT_TIMEOUT)
            except TimeoutError:
                raise ConnectionError(f"no connection in {CONNECT_TIMEOUT:g} s") from None
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait, READY_TIMEOUT)
        stubs = [vcenter_pb2_grpc.VCenterStub(c) for c in channels]
        names = load.names
        cpu, started = time.process_time(), time.monotonic()
        if load.rate:
            start = started + 0.05
            await asyncio.gather(*(_paced(stub, names, n, load, start, latencies, failed)
                                   for n, stub in zip(clients, stubs, strict=True)))
        else:
            budget, deadline = max(1, load.max_calls // load.clients), started + load.seconds
            await asyncio.gather(*(_client(stub, names[n::load.clients] or names, budget, deadline, latencies, failed)
                                   for n, stub in zip(clients, stubs, strict=True)))
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    return {"latencies": latencies, "failed": failed, "elapsed": elapsed, "cpu_s": cpu}


def _channel(address: str, pki: Path, user: str, server: Identity) -> grpc.aio.Channel:
    credential = Pki(pki).credential(Identity(BENCH_DOMAIN, "user", user))
    credentials = grpc.ssl_channel_credentials(root_certificates=credential.ca_pem, private_key=credential.key_pem,
                                               certificate_chain=credential.cert_pem)
    return grpc.aio.secure_channel(address, credentials,
                                   options=[*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", server.dns_name)])


async def _client(stub: vcenter_pb2_grpc.VCenterAsyncStub, names: list[str], budget: int, deadline: float,
                  latencies: list[float], failed: list[str]) -> None:
    """One client calling again as soon as its answer comes."""
    clock = time.monotonic
    for n in range(budget):
        began = clock()
        if began >= deadline:
            return
        try:
            await stub.GetVm(common_pb2.ObjectRef(name=names[n % len(names)]), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            failed.append(error.code().name)
            continue
        latencies.append(clock() - began)


async def _paced(stub: vcenter_pb2_grpc.VCenterAsyncStub, names: list[str], client: int, load: CallLoad, start: float,
                 latencies: list[float], failed: list[str]) -> None:
    """Client ``client``'s share of ``rate`` calls a second: calls client, client + clients, ... of
    the rate x seconds in all, call n due at start + n / rate. A call is sent at its time, or as soon as
    the client's previous call has answered if that is later; either way its latency counts from when
    it was due, so a server that falls behind shows in the figure instead of slowing the load."""
    clock = time.monotonic
    for n in range(client, int(load.rate * load.seconds), load.clients):
        due = start + n / load.rate
        if (wait := due - clock()) > 0:
            await asyncio.sleep(wait)
        try:
            await stub.GetVm(common_pb2.ObjectRef(name=names[n % len(names)]), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            failed.append(error.code().name)
            continue
        latencies.append(clock() - due)

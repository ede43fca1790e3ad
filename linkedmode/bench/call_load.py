"""Inventory calls against a running vCenter from many mutual-TLS clients, spread over load processes.

Each client is a user of its own with its own certificate and connection, speaking gRPC straight over
HTTP/2 (`wire.py`, driven by `call_driver.py`) so the load costs the shared machine little. The clients
are spread over ``processes`` spawned processes (clients n, n + processes, ...). Every process makes its
connections first; the clock starts once all have (a barrier).

Two shapes of load:
* saturated (``rate`` 0): each client calls again as soon as its answer comes, for ``seconds`` or
  ``max_calls``: the most calls a second the vCenter answers;
* at a rate: ``rate`` calls a second in all, each client sending its calls on schedule (call n due
  at start + n / rate, client n % clients), a call's latency counted from when it was due, so a
  server that falls behind shows in the figure rather than slowing the load (as wrk2 measures).
"""

from __future__ import annotations

import multiprocessing
import queue
import statistics
import threading
from collections.abc import Callable
from typing import Any

from .call_driver import drive
from .call_spec import CallLoad

__all__ = ["CallLoad", "LoadFailed", "run_load"]

READY_TIMEOUT = 120.0      # spawning the processes and all their handshakes


class LoadFailed(Exception):
    """The load could not run: a process could not connect, or did not finish."""


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
        parts = [results.get(timeout=load.warmup + load.seconds + load.call_timeout + READY_TIMEOUT) for _ in workers]
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
        "warmup_s": load.warmup, "warmup_calls": sum(p["warmup_calls"] for p in parts),
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
        results.put(drive(load, clients, lambda: barrier.wait(READY_TIMEOUT)))
    except BaseException as error:      # the parent reports it; a broken barrier frees the others
        barrier.abort()
        results.put({"error": f"{type(error).__name__}: {error}"})

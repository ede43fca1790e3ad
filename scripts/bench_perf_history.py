#!/usr/bin/env python3
"""What the realtime performance history (row X5) costs in an estate of real size: the generated
estate of `bench scale` (2 vCenters x 32 hosts, VMs of 1-8 GiB, all powered on), every vCenter
sampling every `--interval` seconds, until vc-01 has done `--rounds` rounds (180 fill the history).

    python scripts/bench_perf_history.py                       # 5,000 VMs, 0.3 s, 200 rounds
    python scripts/bench_perf_history.py --interval 5 --rounds 0 --probe-seconds 20   # how long calls wait
    python scripts/bench_perf_history.py --vms 10000 --json

It reports the process's resident memory before the first round and after the last; what asking
every host of vc-01 at once costs (one round, all 32 hosts: what the sampler did before it asked one
host at a time) and what asking one host costs (the longest of vc-01's hosts); and, over the first
`--probe-seconds` of sampling, how long GetVm calls to vc-01 over mutual TLS (`--call-rate` a second,
from one client, each timed from when it was due) took, and how late a callback due every 1 ms on
the listeners' event loop (the loop every gRPC call of the process waits on) ran: the longest, the
99th percentile, and how many ran more than 10 ms late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

from linkedmode.bench.scale_estate import BENCH_DOMAIN, bench_document, resident_mib
from linkedmode.client import VCenterClient, connect_vcenter
from linkedmode.estate import start_estate
from linkedmode.heap import freeze_started_heap
from linkedmode.model.inventory import Host, Vm
from linkedmode.rpc.server import LISTENER_LOOP
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2
from linkedmode.vcenter.perf_history import PERF_SAMPLES, PerfSample

TICK = 0.001


def paced_calls(client: VCenterClient, names: list[str], rate: float, seconds: float, latencies: list[float]) -> None:
    """GetVm on vc-01, `rate` calls a second for `seconds`; each latency counted from when the call was due."""
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        due = started + n / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        client.api.GetVm(common_pb2.ObjectRef(name=names[n % len(names)]), timeout=30)
        latencies.append(time.monotonic() - due)


def history_full(samples: list[PerfSample], wanted: int, interval: float) -> bool:
    """`wanted` samples, or as many as the intervals kept held (a host asked late misses an interval:
    on a busy machine, at an interval of 0.3 s, some do)."""
    return len(samples) >= wanted or (len(samples) > 1 and samples[-1].time - samples[0].time >= (PERF_SAMPLES - 2) * interval)


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * share))] if values else 0.0


async def loop_lateness(seconds: float) -> list[float]:
    """How late each of the callbacks due every TICK over `seconds` ran, in seconds."""
    late = []
    end = time.monotonic() + seconds
    while (before := time.monotonic()) < end:
        await asyncio.sleep(TICK)
        late.append(max(0.0, time.monotonic() - before - TICK))
    return late


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--probe-seconds", type=float, default=0.0, help="default: 3 intervals, 5 s at least")
    parser.add_argument("--call-rate", type=float, default=200.0, help="GetVm calls a second to vc-01 while probing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    document = bench_document(2, 32, args.vms, (1024, 8192), 0)
    for vcenter in document["sso_domains"][0]["vcenters"]:
        vcenter["timeouts"] = {"perf_interval": args.interval}
    with tempfile.TemporaryDirectory(prefix="linkedmode-perf-") as state_dir:
        estate = start_estate(parse_topology(document, "<bench perf history>"), Path(state_dir) / "state")
        freeze_started_heap()       # as `bench scale` serves it: the collector skips what starting made
        loop = LISTENER_LOOP.acquire()
        try:
            perf = estate.vcenters["vc-01"].vcenter.performance
            before = resident_mib()
            probe_seconds = args.probe_seconds or max(5.0, 3 * args.interval)
            client = connect_vcenter(estate.vcenters["vc-01"].address, estate.credential(BENCH_DOMAIN, "user", "administrator"), "vc-01")
            calls: list[float] = []
            caller = threading.Thread(target=paced_calls, args=(client, [vm.name for vm in perf.state.all(Vm)], args.call_rate,
                                                                 probe_seconds, calls))
            caller.start()
            late = loop.call(loop_lateness(probe_seconds), timeout=3600)
            caller.join()
            client.close()
            started = time.monotonic()
            taken = perf.sample()
            round_ms = (time.monotonic() - started) * 1000
            one_host_ms = 0.0
            for host in perf.state.all(Host):
                started = time.monotonic()
                perf.sample_host(host)
                one_host_ms = max(one_host_ms, (time.monotonic() - started) * 1000)
            wanted = min(args.rounds, PERF_SAMPLES)
            first = perf.state.all(Vm)[0].moid
            deadline = time.monotonic() + args.rounds * args.interval * 4 + 60
            while wanted and time.monotonic() < deadline and not history_full(perf.history.samples(first), wanted, args.interval):
                time.sleep(args.interval)
            late.sort()
            held = perf.history.samples(perf.state.all(Vm)[0].moid)
            figures = {"vms": args.vms, "interval_s": args.interval, "vc01_samples_per_round": taken,
                       "vc01_round_all_hosts_at_once_ms": round(round_ms, 1), "vc01_longest_host_ms": round(one_host_ms, 1),
                       "calls": len(calls), "call_p50_ms": round(percentile(calls, 0.5) * 1000, 2),
                       "call_p99_ms": round(percentile(calls, 0.99) * 1000, 1), "call_max_ms": round(max(calls, default=0) * 1000, 1),
                       "loop_late_max_ms": round(late[-1] * 1000, 1), "loop_late_p99_ms": round(late[len(late) * 99 // 100] * 1000, 2),
                       "loop_late_over_10ms": sum(1 for t in late if t > 0.010), "loop_ticks": len(late),
                       "samples_per_vm": len(held), "history_span_s": round(held[-1].time - held[0].time, 1) if held else 0,
                       "rss_before_mib": round(before, 1), "rss_after_mib": round(resident_mib(), 1)}
        finally:
            LISTENER_LOOP.release(loop, wait=False)
            estate.stop()
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:32} {value}")


if __name__ == "__main__":
    main()

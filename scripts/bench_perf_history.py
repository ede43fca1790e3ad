#!/usr/bin/env python3
"""What the realtime performance history (row X5) costs in an estate of real size: the generated
estate of `bench scale` (2 vCenters x 32 hosts, VMs of 1-8 GiB, all powered on), every vCenter
sampling every `--interval` seconds, until vc-01 has done `--rounds` rounds (180 fill the history).

    python scripts/bench_perf_history.py                       # 5,000 VMs, 0.3 s, 200 rounds
    python scripts/bench_perf_history.py --vms 10000 --json

It reports the process's resident memory before the first round and after the last, and how long
one round of vc-01 takes (asking its 32 hosts, recording a sample of each of its VMs).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from linkedmode.bench.scale_estate import bench_document, resident_mib
from linkedmode.estate import start_estate
from linkedmode.model.inventory import Vm
from linkedmode.topology import parse_topology


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    document = bench_document(2, 32, args.vms, (1024, 8192), 0)
    for vcenter in document["sso_domains"][0]["vcenters"]:
        vcenter["timeouts"] = {"perf_interval": args.interval}
    with tempfile.TemporaryDirectory(prefix="linkedmode-perf-") as state_dir:
        estate = start_estate(parse_topology(document, "<bench perf history>"), Path(state_dir) / "state")
        try:
            perf = estate.vcenters["vc-01"].vcenter.performance
            before = resident_mib()
            started = time.monotonic()
            taken = perf.sample()
            round_ms = (time.monotonic() - started) * 1000
            deadline = time.monotonic() + args.rounds * args.interval * 4 + 60
            while perf.history.series_count() and len(perf.history.samples(perf.state.all(Vm)[0].moid)) < min(args.rounds, 180):
                if time.monotonic() > deadline:
                    break
                time.sleep(args.interval)
            figures = {"vms": args.vms, "interval_s": args.interval, "vc01_samples_per_round": taken,
                       "vc01_round_ms": round(round_ms), "samples_per_vm": len(perf.history.samples(perf.state.all(Vm)[0].moid)),
                       "rss_before_mib": round(before, 1), "rss_after_mib": round(resident_mib(), 1)}
        finally:
            estate.stop()
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:24} {value}")


if __name__ == "__main__":
    main()

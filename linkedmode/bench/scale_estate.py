"""One generated estate in this process, for `bench scale`: how long until it answers, and what it holds.

Run as ``python -m linkedmode.bench.scale_estate --vms N --state-dir DIR`` by the benchmark, so that each
size is measured in a fresh process (resident memory is then the estate's, not what an earlier run
left). It prints one JSON line once vc-01 has answered ListVms over mutual TLS; with ``--serve`` it
then keeps the estate up until its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ..estate import start_estate
from ..heap import freeze_started_heap
from ..topology import parse_topology
from ..topology.generate import expand
from ..v1 import vcenter_pb2

BENCH_DOMAIN = "vsphere.local"
BENCH_USER_PREFIX = "bench-"


def bench_document(vcenters: int, hosts_per_vcenter: int, vms: int, memory_mb: tuple[int, int], users: int) -> dict[str, Any]:
    """The generated topology, plus ``users`` read-only users (one per load client) allowed that many calls."""
    generate = {"vcenters": vcenters, "hosts_per_vcenter": hosts_per_vcenter, "vms": vms, "memory_mb": list(memory_mb)}
    document: dict[str, Any] = expand({"generate": generate}, "<bench scale>")   # type: ignore[assignment]  # a mapping in, a mapping out
    (domain,) = document["sso_domains"]
    domain["users"] = [{"name": "administrator", "role": "admin"},
                       *({"name": bench_user(n), "role": "read-only"} for n in range(users))]
    return document


def bench_user(number: int) -> str:
    return f"{BENCH_USER_PREFIX}{number + 1:02d}"


def resident_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linkedmode.bench.scale_estate")
    parser.add_argument("--vms", type=int, required=True)
    parser.add_argument("--vcenters", type=int, default=2)
    parser.add_argument("--hosts-per-vcenter", type=int, default=32)
    parser.add_argument("--memory-mb", type=int, nargs=2, default=(1024, 8192))
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args(argv)

    started = time.monotonic()
    document = bench_document(args.vcenters, args.hosts_per_vcenter, args.vms, tuple(args.memory_mb), args.users)
    topology = parse_topology(document, "<bench scale>")
    estate = start_estate(topology, args.state_dir)
    freeze_started_heap()
    try:
        # Imported late: the client side is not part of what starting costs.
        from ..client import connect_vcenter
        credential = estate.credential(BENCH_DOMAIN, "user", "administrator")
        client = connect_vcenter(estate.vcenters["vc-01"].address, credential, "vc-01")
        try:
            answered = len(client.api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=120).vms)
        finally:
            client.close()
        figures = {
            "vms": args.vms, "start_s": round(time.monotonic() - started, 2), "rss_mib": round(resident_mib(), 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "vc01_vms_listed": answered, "address": estate.vcenters["vc-01"].address,
            "pki": str(estate.pki_dir),
        }
        print(json.dumps(figures), flush=True)
        if args.serve:
            sys.stdin.read()          # until the benchmark closes our standard input
    finally:
        estate.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

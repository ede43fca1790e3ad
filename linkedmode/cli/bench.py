"""linkedmode bench stream: the page stream's figures against the bare transport, in one run."""

from __future__ import annotations

import argparse
import sys

from ..bench.scale import SECTIONS, ScaleSettings, run_scale_bench
from ..bench.stream import BenchSettings, run_bench
from .output import print_json, print_table

TARGETS = [
    ("encrypted_over_transport", ">=", 0.5),
    ("encrypted_time_over_plaintext", "<=", 1.25),
]


def bench_stream(args: argparse.Namespace) -> int:
    settings = BenchSettings(args.memory_mb, args.dirty_rate_mbps, args.working_set_mb, args.runs)
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    summary = run_bench(settings, say)
    if args.json:
        print_json(summary)
        return 0
    print_table(["FIGURE", "MEDIAN"], [(k, v) for k, v in summary.items()])
    for key, op, bound in TARGETS:
        met = summary[key] >= bound if op == ">=" else summary[key] <= bound
        print(f"target {key} {op} {bound}: {'met' if met else 'NOT met'}")
    return 0


SCALE_TARGETS = [     # (section, figure, bound): each figure at most its bound, but calls_per_s at least
    ("start", "start_s", 5.0),
    ("start", "rss_mib", 400.0),
    ("start", "double_start_ratio", 2.0),
    ("start", "double_rss_ratio", 2.0),
    ("calls", "calls_per_s", 2000.0),
    ("calls", "p99_ms", 25.0),
]


def bench_scale(args: argparse.Namespace) -> int:
    settings = ScaleSettings(vms=args.vms, vcenters=args.vcenters, hosts_per_vcenter=args.hosts_per_vcenter,
                             memory_mb=tuple(args.memory_mb), clients=args.clients, seconds=args.seconds)
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    summary = run_scale_bench(settings, say, tuple(args.only or ()))
    if args.json:
        print_json(summary)
        return 0
    rows = [(f"{section}.{key}", value) for section in (name for name, _ in SECTIONS) if section in summary
            for key, value in summary[section].items() if not isinstance(value, list)]
    print_table(["FIGURE", "VALUE"], rows)
    for section, key, bound in SCALE_TARGETS:
        value = summary.get(section, {}).get(key)
        if value is not None:
            met = value >= bound if key == "calls_per_s" else value <= bound
            print(f"target {key} {'>=' if key == 'calls_per_s' else '<='} {bound:g}: {'met' if met else 'NOT met'}")
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = commands.add_parser("bench", help="benchmarks").add_subparsers(dest="action", required=True, metavar="ACTION")
    stream = bench.add_parser("stream", help="migrate a VM between two host processes, encrypted and plaintext, "
                                             "against a bare TCP probe")
    stream.add_argument("--memory-mb", type=int, default=1024, help="VM memory, all of it random (default 1024)")
    stream.add_argument("--dirty-rate-mbps", type=float, default=0.0, help="how fast the guest writes (default 0: idle)")
    stream.add_argument("--working-set-mb", type=int, default=0, help="over how much memory it writes (default: all)")
    stream.add_argument("--runs", type=int, default=3, help="runs of each kind (default 3)")
    stream.add_argument("--json", action="store_true", help="print one JSON object")
    stream.set_defaults(handler=bench_stream, needs_session=False)

    d = ScaleSettings()
    scale = bench.add_parser("scale", help="a generated estate: start time and memory at half, whole and double size, "
                                           "and inventory calls over mutual TLS from many clients")
    scale.add_argument("--vms", type=int, default=d.vms, help=f"VMs of the whole estate (default {d.vms})")
    scale.add_argument("--vcenters", type=int, default=d.vcenters, help=f"default {d.vcenters}")
    scale.add_argument("--hosts-per-vcenter", type=int, default=d.hosts_per_vcenter, help=f"default {d.hosts_per_vcenter}")
    scale.add_argument("--memory-mb", type=int, nargs=2, default=d.memory_mb, metavar=("SMALLEST", "LARGEST"),
                       help="VM memory range in MB, multiples of 256 (default 1024 8192)")
    scale.add_argument("--clients", type=int, default=d.clients, help=f"concurrent clients of the calls figure (default {d.clients})")
    scale.add_argument("--seconds", type=float, default=d.seconds, help=f"how long the calls run (default {d.seconds:g})")
    scale.add_argument("--only", action="append", choices=[name for name, _ in SECTIONS],
                       help="run only this section (repeatable)")
    scale.add_argument("--json", action="store_true", help="print one JSON object")
    scale.set_defaults(handler=bench_scale, needs_session=False)

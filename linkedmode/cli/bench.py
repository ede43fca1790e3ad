"""linkedmode bench stream: the page stream's figures against the bare transport, in one run."""

from __future__ import annotations

import argparse
import sys

from ..bench.call_load import LoadFailed
from ..bench.distance import RTTS_MS, DistanceSettings, run_distance
from ..bench.evacuation import run_evacuation_benchmark
from ..bench.scale import SECTIONS, ScaleSettings, run_scale_bench
from ..bench.stream import BenchSettings, run_bench
from .common import CommandError
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


def bench_evacuate(args: argparse.Namespace) -> int:
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    figures = run_evacuation_benchmark(args.vms, args.memory_mb, args.destination_hosts, args.dirty_rate_mbps,
                                       args.working_set_mb, say)
    if args.json:
        print_json(figures)
    else:
        print_table(["FIGURE", "VALUE"], [(k, v) for k, v in figures.items() if k != "slots"])
        print_table(["HOST", "MOST VMOTIONS AT ONCE", "LIMIT"], [(h, s["peak"], s["limit"]) for h, s in figures["slots"].items()])
        print(f"target no failure: {'met' if figures['failures'] == 0 else 'NOT met'}")
        print(f"target per-host limits never exceeded: {'met' if not figures['slots_exceeded'] else 'NOT met'}")
    return 0 if figures["failures"] == 0 and not figures["slots_exceeded"] else 1


def bench_distance(args: argparse.Namespace) -> int:
    settings = DistanceSettings(args.memory_mb, args.dirty_rate_mbps, args.working_set_mb, args.rate_mbit,
                                tuple(args.rtt_ms or RTTS_MS), args.runs)
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    summary = run_distance(settings, say)
    if args.json:
        print_json(summary)
        return 0
    print(f"{settings.memory_mb} MB guest dirtying {settings.dirty_rate_mbps:g} MB/s over {settings.working_set_mb} MB, "
          f"encrypted, link {settings.rate_mbit:g} Mbit/s; medians of {settings.runs} runs")
    rows = summary["rows"]
    print_table(list(rows[0]), [tuple(str(v) for v in row.values()) for row in rows])
    return 0


SCALE_TARGETS = [     # (section, figure, bound): each figure at most its bound, but calls_per_s at least
    ("start", "start_s", 5.0),
    ("start", "rss_mib", 400.0),
    ("start", "double_start_ratio", 2.0),
    ("start", "double_rss_ratio", 2.0),
    ("calls", "calls_per_s", 2000.0),       # answered of 2,000 offered a second (at_rate)
    ("calls", "p99_ms", 25.0),
    ("evacuation", "failures", 0),
]


def bench_scale(args: argparse.Namespace) -> int:
    for option, value, least in (("--clients", args.clients, 1), ("--load-processes", args.load_processes, 1),
                                 ("--seconds", args.seconds, 0.1), ("--rate", args.rate, 0), ("--warmup", args.warmup, 0)):
        if value < least:
            raise CommandError(f"{option} must be at least {least:g} (got {value:g})")
    settings = ScaleSettings(vms=args.vms, vcenters=args.vcenters, hosts_per_vcenter=args.hosts_per_vcenter,
                             memory_mb=tuple(args.memory_mb), clients=args.clients, seconds=args.seconds,
                             rate=args.rate, load_processes=args.load_processes, warmup_s=args.warmup)
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        summary = run_scale_bench(settings, say, tuple(args.only or ()))
    except LoadFailed as failed:
        raise CommandError(str(failed)) from None
    if args.json:
        print_json(summary)
        return 0
    rows = [(f"{section}.{key}", value) for section in (name for name, _ in SECTIONS) if section in summary
            for key, value in summary[section].items() if not isinstance(value, (list, dict))]
    print_table(["FIGURE", "VALUE"], rows)
    for section, key, bound in SCALE_TARGETS:
        value = summary.get(section, {}).get(key)
        if value is not None:
            met = value >= bound if key == "calls_per_s" else value <= bound
            print(f"target {key} {'>=' if key == 'calls_per_s' else '<='} {bound:g}: {'met' if met else 'NOT met'}")
    if "evacuation" in summary:
        exceeded = summary["evacuation"]["slots_exceeded"]
        print(f"target per-host vMotion limits never exceeded: {'met' if not exceeded else 'NOT met: ' + ', '.join(exceeded)}")
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
    evacuate = bench.add_parser("evacuate", help="evacuate a host of running VMs into a linked vCenter, in one process")
    evacuate.add_argument("--vms", type=int, default=64, help="VMs on the host (default 64)")
    evacuate.add_argument("--memory-mb", type=int, default=256, help="memory of each VM (default 256)")
    evacuate.add_argument("--destination-hosts", type=int, default=4, help="hosts of the destination vCenter (default 4)")
    evacuate.add_argument("--dirty-rate-mbps", type=float, default=2.0, help="how fast each guest writes (default 2)")
    evacuate.add_argument("--working-set-mb", type=int, default=8, help="over how much of its memory (default 8)")
    evacuate.add_argument("--json", action="store_true", help="print one JSON object")
    evacuate.set_defaults(handler=bench_evacuate, needs_session=False)

    distance = bench.add_parser("distance", help="migrate a VM between two host processes across a link of 0, 10, 50 "
                                                 "and 150 ms RTT (shaped by the emulator)")
    distance.add_argument("--memory-mb", type=int, default=256, help="VM memory, all of it random (default 256)")
    distance.add_argument("--dirty-rate-mbps", type=float, default=20.0, help="how fast the guest writes, MB/s (default 20)")
    distance.add_argument("--working-set-mb", type=int, default=64, help="over how much memory it writes (default 64)")
    distance.add_argument("--rate-mbit", type=float, default=1000.0, help="the link's rate in Mbit/s (default 1000: 1 GbE)")
    distance.add_argument("--rtt-ms", type=float, action="append", help="a round-trip time to measure; repeat "
                                                                       "(default 0, 10, 50, 150)")
    distance.add_argument("--runs", type=int, default=2, help="runs at each RTT (default 2)")
    distance.add_argument("--json", action="store_true", help="print one JSON object")
    distance.set_defaults(handler=bench_distance, needs_session=False)

    d = ScaleSettings()
    scale = bench.add_parser("scale", help="a generated estate: start time and memory at half, whole and double size, "
                                           "and inventory calls over mutual TLS from many clients")
    scale.add_argument("--vms", type=int, default=d.vms, help=f"VMs of the whole estate (default {d.vms})")
    scale.add_argument("--vcenters", type=int, default=d.vcenters, help=f"default {d.vcenters}")
    scale.add_argument("--hosts-per-vcenter", type=int, default=d.hosts_per_vcenter, help=f"default {d.hosts_per_vcenter}")
    scale.add_argument("--memory-mb", type=int, nargs=2, default=d.memory_mb, metavar=("SMALLEST", "LARGEST"),
                       help="VM memory range in MB, multiples of 256 (default 1024 8192)")
    scale.add_argument("--clients", type=int, default=d.clients, help=f"concurrent clients of the calls figure (default {d.clients})")
    scale.add_argument("--seconds", type=float, default=d.seconds,
                       help=f"how long each calls figure runs (default {d.seconds:g})")
    scale.add_argument("--warmup", type=float, default=d.warmup_s,
                       help=f"seconds of each calls figure run first and not counted (default {d.warmup_s:g})")
    scale.add_argument("--load-processes", type=int, default=d.load_processes,
                       help=f"processes the clients are spread over (default {d.load_processes})")
    scale.add_argument("--rate", type=float, default=d.rate,
                       help=f"calls a second offered in the paced calls figure; 0: saturated only (default {d.rate:g})")
    scale.add_argument("--only", action="append", choices=[name for name, _ in SECTIONS],
                       help="run only this section (repeatable)")
    scale.add_argument("--json", action="store_true", help="print one JSON object")
    scale.set_defaults(handler=bench_scale, needs_session=False)

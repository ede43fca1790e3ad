"""linkedmode soak: concurrent migrations under random faults; lost and keys_left must be 0."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from ..soak import run_soak
from .output import print_json, print_table


def soak(args: argparse.Namespace) -> int:
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    report = run_soak(args.migrations, args.seconds, args.concurrency, args.seed, say)
    if args.json:
        print_json(asdict(report))
    else:
        print_table(["FIGURE", "VALUE"], [(k, v) for k, v in asdict(report).items() if k != "problems"])
        for problem in report.problems:
            print(f"problem: {problem}")
    return 0 if report.lost == 0 and report.keys_left == 0 and not report.problems else 1


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("soak", help="many concurrent migrations under random faults; checks nothing is lost")
    parser.add_argument("--migrations", type=int, default=40, help="how many migrations to start (default 40)")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop starting new ones after this (default 60)")
    parser.add_argument("--concurrency", type=int, default=4, help="migrations at once (default 4)")
    parser.add_argument("--seed", type=int, help="random seed, to replay a run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=soak, needs_session=False)

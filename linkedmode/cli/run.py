"""linkedmode run SCENARIO.yaml...: run scenario files, print each step, exit non-zero on a failure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..scenario import ScenarioError, load_scenarios, run_scenarios, write_junit


def run(args: argparse.Namespace) -> int:
    try:
        scenarios = load_scenarios(args.scenarios)
    except ScenarioError as error:
        print(f"linkedmode: bad scenario: {error}", file=sys.stderr)
        return 2
    runs = run_scenarios(scenarios, state_dir=args.connect, out=lambda line: print(line, flush=True))
    if args.junit:
        write_junit(runs, args.junit)
    failed = [r.scenario.name for r in runs if not r.passed]
    if len(runs) > 1:
        print(f"{len(runs) - len(failed)} of {len(runs)} scenarios passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="run scenario files: bring the topology up, do the steps, check what they expect")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml", help="scenario files, run in order")
    parser.add_argument("--connect", type=Path, metavar="STATE_DIR",
                        help="run against the estate of a running `linkedmode up --state-dir STATE_DIR` instead of starting one")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML there (a testcase per step)")
    parser.set_defaults(handler=run, needs_session=False)

"""linkedmode health: is a part serving? Its grpc.health.v1, over mutual TLS, asked with the part's own credential.

    linkedmode health vcenter:NAME|host:NAME [--topology FILE] --state-dir DIR [--service NAME]

Exit status 0 when the part answers SERVING, 1 otherwise. The pods rendered by `deploy kubernetes`
run the same check as `python -m linkedmode.deploy.probe`, which starts faster.
"""

from __future__ import annotations

import argparse

from ..deploy.probe import ProbeError, add_arguments, probe
from .common import DEFAULT_STATE_DIR, CommandError
from .up import load


def health(args: argparse.Namespace) -> int:
    try:
        serving, line = probe(args.part, load(args.topology), args.state_dir, service=args.service, timeout=args.timeout)
    except ProbeError as error:
        raise CommandError(str(error)) from None
    print(line)
    return 0 if serving else 1


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("health", help="ask a part's grpc.health.v1 over mutual TLS with its own credential (a probe)")
    add_arguments(parser, DEFAULT_STATE_DIR)
    parser.set_defaults(handler=health, needs_session=False)

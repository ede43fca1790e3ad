"""The linkedmode command line."""

from __future__ import annotations

import argparse
import sys

import grpc

from .. import __version__
from ..client import NotRunning
from ..logsetup import configure_logging
from ..model.faults import Fault
from ..rpc.faults import fault_from_error
from ..topology import TopologyError
from . import bench, bulk_commands, certs, demo, deploy, health, kms_commands, migrate, run, serve, soak, top, up, vm_commands
from .common import CommandError, Session


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="linkedmode",
        description="vCenter Servers in Enhanced Linked Mode and their ESXi hosts, emulated, with real encrypted vMotion.",
    )
    root.add_argument("--version", action="version", version=f"linkedmode {__version__}")
    root.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_command(commands)
    up.add_command(commands)
    certs.add_command(commands)
    vm_commands.add_commands(commands)
    kms_commands.add_command(commands)
    migrate.add_command(commands)
    serve.add_command(commands)
    bench.add_command(commands)
    soak.add_command(commands)
    deploy.add_command(commands)
    health.add_command(commands)
    run.add_command(commands)
    bulk_commands.add_commands(commands)
    top.add_command(commands)
    return root


def dispatch(args: argparse.Namespace) -> int:
    if getattr(args, "needs_session", True):
        session = Session(args)
        try:
            args.handler(session, args)
        finally:
            session.close()
        return 0
    status: int = args.handler(args)
    return status


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(args.log_level, getattr(args, "log_format", "text"))
    try:
        return dispatch(args)
    except TopologyError as error:
        print(f"linkedmode: bad topology: {error}", file=sys.stderr)
        return 2
    except (CommandError, NotRunning, FileNotFoundError) as error:
        print(f"linkedmode: {error}", file=sys.stderr)
        return 1
    except Fault as fault:
        print(f"linkedmode: {fault}", file=sys.stderr)
        return 1
    except grpc.RpcError as error:
        print(f"linkedmode: {fault_from_error(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

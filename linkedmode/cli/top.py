"""linkedmode top: the migrations in flight across the estate, live (every vCenter's relocate and bulk
tasks that have not ended), refreshed until Ctrl-C; `--once` prints one screen and ends."""

from __future__ import annotations

import argparse
import sys
import time

from ..v1 import common_pb2, vcenter_pb2
from .common import Session, add_client_options
from .output import enum_word, print_json, print_table, to_plain

SHOWN = ("VirtualMachine.relocate", "HostSystem.evacuate", "HostSystem.enterMaintenanceMode",
         "VirtualMachine.bulkSetMigrateEncryption")
CLEAR = "\x1b[H\x1b[2J"
MOST_TASKS = 1000


def in_flight(session: Session) -> list[tuple[str, common_pb2.Task]]:
    """Every vCenter's tasks of SHOWN kinds that have not ended, oldest first."""
    found = []
    for client in session.all():
        tasks = client.api.ListTasks(vcenter_pb2.ListTasksRequest(limit=MOST_TASKS)).tasks
        found += [(client.name, t) for t in tasks if t.description_id in SHOWN
                  and t.state in (common_pb2.TASK_STATE_QUEUED, common_pb2.TASK_STATE_RUNNING)]
    return sorted(found, key=lambda pair: pair[1].queue_time.ToNanoseconds())


def screen(found: list[tuple[str, common_pb2.Task]], now: float) -> None:
    moves = [t for _, t in found if t.description_id == "VirtualMachine.relocate"]
    queued = sum(1 for t in moves if t.state == common_pb2.TASK_STATE_QUEUED)
    print(f"linkedmode top  {time.strftime('%H:%M:%S', time.localtime(now))}  "
          f"{len(moves)} migrations in flight ({queued} queued, {len(moves) - queued} running), {len(found) - len(moves)} batches")
    print_table(["VCENTER", "TASK", "WHAT", "ON", "STATE", "PROGRESS", "SECONDS", "DETAIL"], [
        (vc, t.key, t.description_id.split(".")[-1], t.entity_name, enum_word(common_pb2.TaskState.Name(t.state)),
         f"{t.progress}%", f"{now - t.queue_time.ToNanoseconds() / 1e9:.1f}", t.progress_detail[:60])
        for vc, t in found])


def top(session: Session, args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.seconds if args.seconds else None
    while True:
        found = in_flight(session)
        if args.json:
            print_json([{"vcenter": vc, **to_plain(t)} for vc, t in found])
        else:
            if not args.once and sys.stdout.isatty():
                sys.stdout.write(CLEAR)
            screen(found, time.time())
        sys.stdout.flush()
        if args.once or (deadline is not None and time.monotonic() >= deadline):
            return
        time.sleep(args.interval)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("top", help="the migrations in flight across the estate, live")
    parser.add_argument("--once", action="store_true", help="print one screen and end")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between screens (default 1)")
    parser.add_argument("--seconds", type=float, default=0.0, help="end after this many seconds (default: at Ctrl-C)")
    add_client_options(parser)
    parser.set_defaults(handler=top)

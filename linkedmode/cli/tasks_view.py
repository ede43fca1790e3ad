"""Following a task to its end on the command line, and printing events."""

from __future__ import annotations

import sys

from ..client import task_fault, wait_task
from ..model.faults import InvalidArgument
from ..v1 import common_pb2
from .common import CommandError, Session
from .output import enum_word, print_json, print_table, to_plain


def vcenter_of_task(key: str) -> str:
    """Task keys name their vCenter: "task-vc-a-12" -> "vc-a"."""
    if not key.startswith("task-") or key.count("-") < 2:
        raise InvalidArgument(f"{key!r} is not a task key like task-vc-a-12", argument="key")
    return key[len("task-"):].rsplit("-", 1)[0]


def follow(session: Session, vcenter: str, task: common_pb2.Task, *, as_json: bool) -> common_pb2.Task:
    """Streams the task's changes to stderr (people) and returns it once it has ended."""
    shown = ""

    def show(last: common_pb2.Task) -> None:
        nonlocal shown
        line = f"{last.key} {last.description_id} {last.entity_name}: {enum_word(common_pb2.TaskState.Name(last.state))} {last.progress}%"
        if last.progress_detail:
            line += f" {last.progress_detail}"
        if not as_json and line != shown and sys.stderr.isatty():
            print(line, file=sys.stderr)
            shown = line

    return wait_task(session.vcenter(vcenter), task, on_progress=show, raise_fault=False)


def report(task: common_pb2.Task, *, as_json: bool) -> None:
    """Prints the ended task; a failed task becomes a CommandError naming its fault."""
    if as_json:
        print_json(to_plain(task))
    fault = task_fault(task)
    if fault is not None:
        raise CommandError(f"task {task.key} failed: {fault}")
    if not as_json:
        outcome = task.WhichOneof("result")
        result = ", ".join(f"{k}={v}" for k, v in sorted(to_plain(getattr(task, outcome)).items()) if v) if outcome else ""
        print(f"{task.key} {task.description_id} {task.entity_name}: success" + (f" ({result})" if result else ""))


def print_events(events: list[tuple[str, common_pb2.Event]], *, as_json: bool) -> None:
    if as_json:
        print_json([{"vcenter": vc, **to_plain(e)} for vc, e in events])
        return
    print_table(["VCENTER", "KEY", "TIME", "TYPE", "VM", "HOST", "MESSAGE"], [
        (vc, e.key, e.created_time.ToDatetime().strftime("%H:%M:%S"), e.type, e.vm_name, e.host, e.message)
        for vc, e in events
    ])

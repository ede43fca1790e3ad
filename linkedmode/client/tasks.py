"""Following a task to its end: every change it goes through, handed to a progress callback."""

from __future__ import annotations

from collections.abc import Callable

from ..v1 import common_pb2, vcenter_pb2
from .connection import VCenterClient
from .faults import faults_raised, task_fault

Progress = Callable[[common_pb2.Task], None]


def wait_task(vcenter: VCenterClient, task: common_pb2.Task, *, on_progress: Progress | None = None,
              timeout: float | None = None, raise_fault: bool = True) -> common_pb2.Task:
    """Follows `task` (through WaitTask) until it ends and returns it as it ended; `on_progress` sees
    every change. A task that fails raises its fault, unless `raise_fault` is False.

        task = wait_task(vc, vc.api.PowerOnVm(common_pb2.ObjectRef(name="web")),
                         on_progress=lambda t: print(t.progress, t.progress_detail))
    """
    last = task
    with faults_raised():
        for update in vcenter.api.WaitTask(vcenter_pb2.GetTaskRequest(key=task.key), timeout=timeout):
            if on_progress is not None:
                on_progress(update)
            last = update
    fault = task_fault(last)
    if raise_fault and fault is not None:
        raise fault
    return last

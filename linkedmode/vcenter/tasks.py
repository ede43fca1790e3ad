"""Running tasks: created queued at once, run on a pool, ended with a result or a fault. An entity runs
one task at a time: a second one is refused at once with TaskInProgress (row V9). A task goes queued ->
running -> success or error, never back. Every change of a task goes through VCenterState.update."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..model.faults import Fault, InvalidState, RequestCanceled, SystemError, TaskInProgress
from ..model.tasks import Task, TaskResult, TaskState
from .state import VCenterState

log = logging.getLogger(__name__)


class TaskControl:
    """What a running task's work sees: progress reporting and the cancel flag."""

    def __init__(self, runner: TaskRunner, key: str) -> None:
        self._runner = runner
        self.key = key

    def progress(self, percent: int, detail: str = "") -> None:
        self._runner.state.change_task(self.key, progress=max(0, min(100, percent)), progress_detail=detail)

    def start(self) -> None:
        """A task submitted with `starts_queued` runs from here on (queued -> running, never back)."""
        self._runner.state.change_task(self.key, state=TaskState.RUNNING, start_time=time.time())

    def check_cancelled(self) -> None:
        if self._runner.state.task(self.key).cancel_requested:
            raise RequestCanceled("the task was cancelled by the user")

    def point_of_no_return(self) -> None:
        """From here on the task cannot be cancelled: a cancel asked before is honoured now (the task
        ends RequestCanceled), one asked after is refused (CancelTask answers InvalidState)."""
        state = self._runner.state
        with state.changed:
            if state.task(self.key).cancel_requested:
                raise RequestCanceled("the task was cancelled by the user")
            state.change_task(self.key, cancelable=False)


Work = Callable[[TaskControl], TaskResult | None]



def busy_with(state: VCenterState, entity: str) -> Task | None:
    """The exclusive task an entity runs now, if any (row V9: a VM runs one at a time)."""
    return next((t for t in state.tasks() if t.entity == entity and t.exclusive and not t.state.done), None)

class TaskRunner:
    def __init__(self, state: VCenterState, workers: int = 8) -> None:
        self.state = state
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{state.name}-task")
        self._locks_guard = threading.Lock()
        self._counter = 0

    def submit(self, description_id: str, entity: str, entity_name: str, user: str, work: Work, *, cancelable: bool = False,
               starts_queued: bool = False, exclusive: bool = True, coordinates: bool = False) -> Task:
        """A task for `work`, queued at once. It reads `running` when its turn comes, or, with
        `starts_queued`, when the work says so (TaskControl.start: a relocate waiting for vMotion slots).
        An `exclusive` task (the default: every operation on a VM) is refused while another exclusive task
        of the same entity runs; others (creations in a folder) run side by side. A task that `coordinates`
        others (a batch that starts moves and waits for them) runs in a thread of its own, so that it never
        holds a worker the tasks it waits for need."""
        with self.state.changed:   # the check and the new task, atomic against every other change
            busy = busy_with(self.state, entity) if exclusive else None
            if busy is not None:
                raise TaskInProgress(f"{entity_name} is busy with {busy.description_id} ({busy.key}, {busy.state.value})",
                                     object=entity, task=busy.key)
            with self._locks_guard:
                self._counter += 1
                key = f"task-{self.state.name}-{self._counter}"
            task = Task(key, description_id, entity, entity_name, user=user, cancelable=cancelable, exclusive=exclusive)
            self.state.update(tasks=[task])
        if coordinates:
            threading.Thread(target=self._run, args=(key, work, starts_queued), name=f"{key}-batch", daemon=True).start()
        else:
            self._pool.submit(self._run, key, work, starts_queued)
        return self.state.task(key)

    def cancel(self, key: str) -> Task:
        with self.state.changed:
            task = self.state.task(key)
            if task.state.done:
                raise InvalidState(f"task {key} has already ended ({task.state.value})", object=key)
            if not task.cancelable:
                raise InvalidState(f"task {key} ({task.description_id}) cannot be cancelled"
                                   + (" any more: it passed its point of no return" if task.description_id == "VirtualMachine.relocate"
                                      else ""), object=key)
            return self.state.change_task(key, cancel_requested=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, key: str, work: Work, starts_queued: bool) -> None:
        control = TaskControl(self, key)
        if not starts_queued:
            control.start()
        try:
            control.check_cancelled()
            result = work(control)
        except Fault as fault:
            self._set(key, state=TaskState.ERROR, error=fault, cancelled=isinstance(fault, RequestCanceled), complete_time=time.time())
            return
        except Exception as error:  # a bug in the work: the task says so, the vCenter keeps going
            log.exception("task %s failed", key)
            self._set(key, state=TaskState.ERROR, error=SystemError(f"internal error: {type(error).__name__}"),
                      complete_time=time.time())
            return
        self._set(key, state=TaskState.SUCCESS, progress=100, result=result, complete_time=time.time())

    def _set(self, key: str, **changes: object) -> None:
        self.state.change_task(key, **changes)

"""Tasks: long work, created at once, followed to a result or a fault, cancellable (TaskInfo)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from .faults import Fault
from .migration import MigrationResult
from .settings import PowerState


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"

    @property
    def done(self) -> bool:
        return self in (TaskState.SUCCESS, TaskState.ERROR)


@dataclass(frozen=True)
class PowerResult:
    power_state: PowerState
    host: str


@dataclass(frozen=True)
class ReconfigureResult:
    changed: tuple[str, ...]


@dataclass(frozen=True)
class CreatedResult:
    """What a task made: a VM (CreateVM_Task) or a snapshot (CreateSnapshot_Task)."""

    moid: str
    name: str


@dataclass(frozen=True)
class VmOutcome:
    """What a bulk operation did to one VM."""

    vm: str                                   # its moid when the batch began
    name: str
    fault: Fault | None = None                # None: it succeeded
    migration: MigrationResult | None = None  # an evacuation's move
    task: str = ""                            # the task that moved it

    @property
    def succeeded(self) -> bool:
        return self.fault is None


@dataclass(frozen=True)
class BulkResult:
    outcomes: tuple[VmOutcome, ...]

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.succeeded)


TaskResult = MigrationResult | PowerResult | ReconfigureResult | CreatedResult | BulkResult


@dataclass
class Task:
    key: str
    description_id: str
    entity: str
    entity_name: str
    user: str = ""
    state: TaskState = TaskState.QUEUED
    progress: int = 0
    progress_detail: str = ""
    cancelable: bool = False
    cancel_requested: bool = False
    cancelled: bool = False
    error: Fault | None = None
    result: TaskResult | None = None
    queue_time: float = field(default_factory=time.time)
    start_time: float = 0.0
    complete_time: float = 0.0
    version: int = 0              # bumps on every change, for watchers
    exclusive: bool = True        # refuses another exclusive task of its entity while it runs (row V9)

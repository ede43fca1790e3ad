"""A VM's snapshots: CreateSnapshot_Task, RemoveSnapshot_Task and the list. A snapshot is kept with
its VM in the inventory (so it survives a restart and travels with the VM); no memory or disk state is
captured. Each change is a task and goes through VCenterState.update."""

from __future__ import annotations

import time
from dataclasses import replace

from ..model.events import TASK_EVENT
from ..model.faults import InvalidArgument, NotFound
from ..model.inventory import Snapshot, Vm
from ..model.tasks import CreatedResult, Task
from ..model.validation import required, shown
from .events import vm_event
from .state import VCenterState
from .tasks import TaskControl, TaskRunner

MAX_NAME = 80


class Snapshots:
    def __init__(self, state: VCenterState, tasks: TaskRunner) -> None:
        self.state = state
        self.tasks = tasks

    def list(self, vm: Vm) -> list[Snapshot]:
        return list(vm.snapshots)

    def create(self, vm: Vm, name: str, description: str, user: str) -> Task:
        required("name", name)
        if len(name) > MAX_NAME:
            raise InvalidArgument(f"name {shown(name)} is longer than {MAX_NAME} characters", argument="name")

        def work(control: TaskControl) -> CreatedResult:
            current = self.state.get(vm.moid, Vm)
            snapshot = Snapshot(self.state.next_moid("snapshot"), name, description, time.time())
            changed = replace(current, snapshots=[*current.snapshots, snapshot])
            self._post(changed, f"Task: Create virtual machine snapshot {name!r} of {current.name}", control, user)
            return CreatedResult(snapshot.id, snapshot.name)

        return self.tasks.submit("VirtualMachine.createSnapshot", vm.moid, vm.name, user, work)

    def remove(self, vm: Vm, snapshot: str, user: str) -> Task:
        required("snapshot", snapshot)

        def work(control: TaskControl) -> None:
            current = self.state.get(vm.moid, Vm)
            gone = self._find(current, snapshot)
            changed = replace(current, snapshots=[s for s in current.snapshots if s.id != gone.id])
            self._post(changed, f"Task: Remove snapshot {gone.name!r} of {current.name}", control, user)

        return self.tasks.submit("VirtualMachine.removeSnapshot", vm.moid, vm.name, user, work)

    @staticmethod
    def _find(vm: Vm, ref: str) -> Snapshot:
        """By id, else by name; a name that several snapshots share must be given as an id."""
        for s in vm.snapshots:
            if s.id == ref:
                return s
        named = [s for s in vm.snapshots if s.name == ref]
        if len(named) > 1:
            raise InvalidArgument(f"{vm.name} has {len(named)} snapshots named {ref!r}: name one by its id "
                                  f"({', '.join(s.id for s in named)})", object=vm.moid, argument="snapshot")
        if not named:
            raise NotFound(f"{vm.name} has no snapshot {shown(ref)}", object=vm.moid)
        return named[0]

    def _post(self, vm: Vm, message: str, control: TaskControl, user: str) -> None:
        self.state.update(put=[vm], events=[vm_event(self.state, TASK_EVENT, vm, message, user=user, task=control.key)])

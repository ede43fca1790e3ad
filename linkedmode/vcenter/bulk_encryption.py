"""`Get-VM | Set-VM -MigrateEncryption ...` as one task: every VM a filter matches gets the setting,
with one progress for the batch and each VM's outcome in the result. A VM the rules keep from
changing (powered on, encrypted, busy with another task) is listed with its fault; the others change."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

from ..model import events as ev
from ..model.faults import Fault, NotFound, TaskInProgress
from ..model.inventory import Host, Vm
from ..model.settings import MigrateEncryption, PowerState
from ..model.tasks import BulkResult, Task, VmOutcome
from .events import vm_event
from .state import VCenterState
from .tasks import TaskControl, TaskRunner, busy_with
from .vm_operations import check_migrate_encryption_change

ROOT_FOLDER = "group-d1"   # vSphere's root folder: the entity of a task about many VMs


@dataclass(frozen=True)
class VmFilter:
    """Which VMs: every condition given must hold; an empty one matches every VM."""

    name: str = ""                                  # a glob: "web-*"
    host: str = ""                                  # name or moid
    power_state: PowerState | None = None
    migrate_encryption: MigrateEncryption | None = None

    def describe(self) -> str:
        said = [f"name {self.name!r}"] * bool(self.name) + [f"host {self.host}"] * bool(self.host)
        if self.power_state is not None:
            said.append(f"power state {self.power_state.value}")
        if self.migrate_encryption is not None:
            said.append(f"migrate_encryption {self.migrate_encryption.value}")
        return ", ".join(said) or "every VM"


def matching(state: VCenterState, wanted: VmFilter) -> list[Vm]:
    """The VMs of this vCenter the filter matches, by name; NotFound for an unknown host, or when none matches."""
    host = state.resolve(Host, wanted.host).moid if wanted.host else ""
    found = [vm for vm in state.all(Vm)
             if (not wanted.name or fnmatch.fnmatchcase(vm.name, wanted.name))
             and (not host or vm.host == host)
             and (wanted.power_state is None or vm.power_state == wanted.power_state)
             and (wanted.migrate_encryption is None or vm.migrate_encryption == wanted.migrate_encryption)]
    if not found:
        raise NotFound(f"no VM of {state.name} matches {wanted.describe()}", object=state.name)
    return sorted(found, key=lambda v: v.name)


class BulkMigrateEncryption:
    def __init__(self, state: VCenterState, tasks: TaskRunner) -> None:
        self.state = state
        self.tasks = tasks

    def set(self, wanted: VmFilter, mode: MigrateEncryption, user: str) -> Task:
        """One task that sets `mode` on every VM `wanted` matches; refused at once when none does."""
        vms = matching(self.state, wanted)

        def work(control: TaskControl) -> BulkResult:
            outcomes = []
            for done, vm in enumerate(vms):
                control.check_cancelled()
                outcomes.append(self._one(vm.moid, vm.name, mode, control, user))
                control.progress(int(100 * (done + 1) / len(vms)), f"{done + 1} of {len(vms)} VMs: {vm.name}")
            return BulkResult(tuple(outcomes))

        return self.tasks.submit("VirtualMachine.bulkSetMigrateEncryption", ROOT_FOLDER, self.state.name, user, work,
                                 cancelable=True, exclusive=False)

    def _one(self, moid: str, name: str, mode: MigrateEncryption, control: TaskControl, user: str) -> VmOutcome:
        try:
            with self.state.changed:   # the check and the change, atomic against a task starting on the VM
                busy = busy_with(self.state, moid)
                if busy is not None:
                    raise TaskInProgress(f"{name} is busy with {busy.description_id} ({busy.key})", object=moid, task=busy.key)
                vm = self.state.get(moid, Vm)
                check_migrate_encryption_change(vm, mode)
                if vm.migrate_encryption != mode:
                    changed = replace(vm, migrate_encryption=mode)
                    event = vm_event(self.state, ev.VM_RECONFIGURED, changed,
                                     f"Reconfigured {vm.name}: migrate_encryption = {mode.value}", user=user, task=control.key)
                    self.state.update(put=[changed], events=[event])
        except Fault as fault:
            return VmOutcome(moid, name, fault=fault)
        return VmOutcome(moid, name)

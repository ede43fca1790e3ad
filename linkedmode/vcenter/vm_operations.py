"""VM operations of a vCenter: power on, power off, reconfigure (rows E1, E5, E6). Each is a task."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..model import events as ev
from ..model.events import Event
from ..model.faults import InvalidPowerState, InvalidState
from ..model.inventory import Datacenter, Host, Vm
from ..model.settings import MigrateEncryption, PowerState
from ..model.tasks import Task
from .tasks import TaskControl

if TYPE_CHECKING:
    from .vcenter import VCenter


def _vm_event(vc: VCenter, type_: str, vm: Vm, message: str, control: TaskControl | None = None, user: str = "") -> Event:
    host = vc.state.get(vm.host, Host)
    datacenter = vc.state.get(vm.datacenter, Datacenter)
    return Event(type_, message, user=user, vm=vm.moid, vm_name=vm.name, host=host.name,
                 datacenter=datacenter.name, task=control.key if control else "")


def power_on(vc: VCenter, vm: Vm, user: str) -> Task:
    def work(control: TaskControl) -> dict[str, str]:
        current = vc.state.get(vm.moid, Vm)
        if current.power_state == PowerState.POWERED_ON:
            raise InvalidPowerState(f"{current.name} is already powered on", object=current.moid,
                                    requested_state="poweredOff", existing_state=current.power_state.value)
        host = vc.state.get(current.host, Host)
        vc.state.update(events=[_vm_event(vc, ev.VM_STARTING, current, f"{current.name} on {host.name} is starting", control, user)])
        agent = vc.hosts.agent(host)
        agent.register(current)
        agent.power_on(current)
        started = replace(current, power_state=PowerState.POWERED_ON)
        vc.state.update(put=[started], events=[_vm_event(vc, ev.VM_POWERED_ON, started, f"{started.name} on {host.name} is powered on", control, user)])
        return {"power_state": PowerState.POWERED_ON.value, "host": host.name}

    return vc.tasks.submit("VirtualMachine.powerOn", vm.moid, vm.name, user, work)


def power_off(vc: VCenter, vm: Vm, user: str) -> Task:
    def work(control: TaskControl) -> dict[str, str]:
        current = vc.state.get(vm.moid, Vm)
        if current.power_state != PowerState.POWERED_ON:
            raise InvalidPowerState(f"{current.name} is not powered on ({current.power_state.value})", object=current.moid,
                                    requested_state="poweredOn", existing_state=current.power_state.value)
        host = vc.state.get(current.host, Host)
        vc.state.update(events=[_vm_event(vc, ev.VM_STOPPING, current, f"{current.name} on {host.name} is stopping", control, user)])
        vc.hosts.agent(host).power_off(current)
        stopped = replace(current, power_state=PowerState.POWERED_OFF)
        vc.state.update(put=[stopped], events=[_vm_event(vc, ev.VM_POWERED_OFF, stopped, f"{stopped.name} on {host.name} is powered off", control, user)])
        return {"power_state": PowerState.POWERED_OFF.value, "host": host.name}

    return vc.tasks.submit("VirtualMachine.powerOff", vm.moid, vm.name, user, work)


def check_migrate_encryption_change(vm: Vm, mode: MigrateEncryption) -> None:
    """Rows E5 and E6: an encrypted VM reads `required` and keeps it; otherwise only while powered off."""
    if vm.encrypted and mode != MigrateEncryption.REQUIRED:
        raise InvalidState(
            f"{vm.name} is encrypted: its migrate_encryption reads required and cannot be changed while it is encrypted",
            object=vm.moid, property="migrate_encryption",
        )
    if vm.power_state != PowerState.POWERED_OFF:
        raise InvalidPowerState(
            f"migrate_encryption of {vm.name} changes only while it is powered off; it is {vm.power_state.value}",
            object=vm.moid, requested_state="poweredOff", existing_state=vm.power_state.value,
        )


def reconfigure(vc: VCenter, vm: Vm, user: str, *, migrate_encryption: MigrateEncryption | None) -> Task:
    def work(control: TaskControl) -> dict[str, str]:
        current = vc.state.get(vm.moid, Vm)
        changes: dict[str, object] = {}
        if migrate_encryption is not None:
            check_migrate_encryption_change(current, migrate_encryption)
            changes["migrate_encryption"] = migrate_encryption
        if not changes:
            return {"changed": ""}
        changed = replace(current, **changes)  # type: ignore[arg-type]
        said = ", ".join(f"{k} = {getattr(v, 'value', v)}" for k, v in changes.items())
        vc.state.update(put=[changed], events=[_vm_event(vc, ev.VM_RECONFIGURED, changed, f"Reconfigured {changed.name}: {said}", control, user)])
        return {"changed": ",".join(changes)}

    return vc.tasks.submit("VirtualMachine.reconfigure", vm.moid, vm.name, user, work)

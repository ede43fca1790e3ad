"""VM operations of a vCenter: power on, power off, reconfigure (rows E1, E5, E6). Each is a task."""

from __future__ import annotations

from dataclasses import replace

from ..model import events as ev
from ..model.faults import InvalidPowerState, InvalidState
from ..model.inventory import Host, Vm
from ..model.maintenance import check_takes_vms
from ..model.settings import MigrateEncryption, PowerState, checked_extra_config
from ..model.tasks import PowerResult, ReconfigureResult, Task
from .events import vm_event
from .host_client import HostConnections
from .state import VCenterState
from .tasks import TaskControl, TaskRunner


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


def check_extra_config_change(vm: Vm) -> None:
    """Advanced settings change only while the VM is powered off, as in the vSphere Client."""
    if vm.power_state != PowerState.POWERED_OFF:
        raise InvalidPowerState(
            f"the advanced settings of {vm.name} change only while it is powered off; it is {vm.power_state.value}",
            object=vm.moid, requested_state="poweredOff", existing_state=vm.power_state.value,
        )


class VmOperations:
    def __init__(self, state: VCenterState, hosts: HostConnections, tasks: TaskRunner) -> None:
        self.state = state
        self.hosts = hosts
        self.tasks = tasks

    def power_on(self, vm: Vm, user: str) -> Task:
        def work(control: TaskControl) -> PowerResult:
            current = self.state.get(vm.moid, Vm)
            if current.power_state == PowerState.POWERED_ON:
                raise InvalidPowerState(f"{current.name} is already powered on", object=current.moid,
                                        requested_state="poweredOff", existing_state=current.power_state.value)
            host = self.state.get(current.host, Host)
            check_takes_vms(host, f"{current.name} cannot be powered on there")
            self._post(ev.VM_STARTING, current, f"{current.name} on {host.name} is starting", control, user)
            agent = self.hosts.agent(host)
            agent.register(current)
            agent.power_on(current)
            started = replace(current, power_state=PowerState.POWERED_ON)
            self._post(ev.VM_POWERED_ON, started, f"{started.name} on {host.name} is powered on", control, user, put=started)
            return PowerResult(PowerState.POWERED_ON, host.name)

        return self.tasks.submit("VirtualMachine.powerOn", vm.moid, vm.name, user, work)

    def power_off(self, vm: Vm, user: str) -> Task:
        def work(control: TaskControl) -> PowerResult:
            current = self.state.get(vm.moid, Vm)
            if current.power_state != PowerState.POWERED_ON:
                raise InvalidPowerState(f"{current.name} is not powered on ({current.power_state.value})", object=current.moid,
                                        requested_state="poweredOn", existing_state=current.power_state.value)
            host = self.state.get(current.host, Host)
            self._post(ev.VM_STOPPING, current, f"{current.name} on {host.name} is stopping", control, user)
            self.hosts.agent(host).power_off(current)
            stopped = replace(current, power_state=PowerState.POWERED_OFF)
            self._post(ev.VM_POWERED_OFF, stopped, f"{stopped.name} on {host.name} is powered off", control, user, put=stopped)
            return PowerResult(PowerState.POWERED_OFF, host.name)

        return self.tasks.submit("VirtualMachine.powerOff", vm.moid, vm.name, user, work)

    def reconfigure(self, vm: Vm, user: str, *, migrate_encryption: MigrateEncryption | None,
                    extra_config: dict[str, str] | None = None) -> Task:
        extra = checked_extra_config(dict(extra_config or {}))

        def work(control: TaskControl) -> ReconfigureResult:
            current = self.state.get(vm.moid, Vm)
            changed, said = current, []
            if migrate_encryption is not None:
                check_migrate_encryption_change(current, migrate_encryption)
                changed = replace(changed, migrate_encryption=migrate_encryption)
                said.append(f"migrate_encryption = {migrate_encryption.value}")
            if extra:
                check_extra_config_change(current)
                settings = {**current.extra_config, **extra}
                changed = replace(changed, extra_config={k: v for k, v in settings.items() if v})
                said += [f"{k} = {v}" if v else f"{k} removed" for k, v in sorted(extra.items())]
            if not said:
                return ReconfigureResult(())
            self._post(ev.VM_RECONFIGURED, changed, f"Reconfigured {changed.name}: {', '.join(said)}", control, user, put=changed)
            return ReconfigureResult(tuple(["migrate_encryption"] * (migrate_encryption is not None)
                                           + [f"extra_config.{k}" for k in sorted(extra)]))

        return self.tasks.submit("VirtualMachine.reconfigure", vm.moid, vm.name, user, work)

    def _post(self, type_: str, vm: Vm, message: str, control: TaskControl, user: str, put: Vm | None = None) -> None:
        self.state.update(put=[put] if put else [], events=[vm_event(self.state, type_, vm, message, user=user, task=control.key)])

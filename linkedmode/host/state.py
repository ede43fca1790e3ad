"""The state of one ESXi host: the VMs registered on it and the ones it runs.

A host's state lives in its process only: a host that restarts has no VMs until its vCenter registers
them again (as hostd after a reboot, before vpxa reconnects).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from ..model.faults import InvalidPowerState, NotFound
from ..model.settings import PowerState
from ..model.versions import Version, build_number, encrypted_vmotion_supported, max_concurrent_vmotions
from ..topology.spec import HostSpec


@dataclass(frozen=True)
class HostVmConfig:
    instance_uuid: str
    name: str
    memory_mb: int
    num_cpu: int = 1
    dirty_rate_mbps: float = 0.0
    working_set_mb: int = 0
    mac_addresses: tuple[str, ...] = ()
    encrypted: bool = False


@dataclass(frozen=True)
class HostVm:
    config: HostVmConfig
    power_state: PowerState = PowerState.POWERED_OFF


@dataclass
class HostState:
    spec: HostSpec
    domain: str
    managed_by: str
    vmotion_address: str = ""
    _vms: dict[str, HostVm] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> Version:
        return self.spec.version

    @property
    def build(self) -> str:
        return build_number("esx", self.spec.version)

    @property
    def encrypted_vmotion_supported(self) -> bool:
        return encrypted_vmotion_supported(self.spec.version, self.spec.aes_ni)

    @property
    def max_concurrent_vmotions(self) -> int:
        return max_concurrent_vmotions(self.spec.vmotion.bandwidth)

    def register(self, config: HostVmConfig) -> HostVm:
        """Registers a VM (idempotent for the same VM: a running one keeps running)."""
        with self._lock:
            existing = self._vms.get(config.instance_uuid)
            vm = replace(existing, config=config) if existing else HostVm(config)
            self._vms[config.instance_uuid] = vm
            return vm

    def unregister(self, instance_uuid: str) -> None:
        with self._lock:
            vm = self._get(instance_uuid)
            if vm.power_state != PowerState.POWERED_OFF:
                raise InvalidPowerState(f"{vm.config.name} is {vm.power_state.value} on {self.name}; power it off first",
                                        object=instance_uuid, requested_state=PowerState.POWERED_OFF.value, existing_state=vm.power_state.value)
            del self._vms[instance_uuid]

    def power_on(self, instance_uuid: str) -> HostVm:
        return self._set_power(instance_uuid, PowerState.POWERED_ON)

    def power_off(self, instance_uuid: str) -> HostVm:
        return self._set_power(instance_uuid, PowerState.POWERED_OFF)

    def vms(self) -> list[HostVm]:
        with self._lock:
            return sorted(self._vms.values(), key=lambda v: v.config.name)

    def vm(self, instance_uuid: str) -> HostVm:
        with self._lock:
            return self._get(instance_uuid)

    def reset(self) -> None:
        with self._lock:
            self._vms.clear()

    def _get(self, instance_uuid: str) -> HostVm:
        vm = self._vms.get(instance_uuid)
        if vm is None:
            raise NotFound(f"host {self.name} has no VM {instance_uuid}", object=instance_uuid)
        return vm

    def _set_power(self, instance_uuid: str, target: PowerState) -> HostVm:
        with self._lock:
            vm = self._get(instance_uuid)
            if vm.power_state == target:
                raise InvalidPowerState(f"{vm.config.name} is already {target.value} on {self.name}",
                                        object=instance_uuid, requested_state=target.value, existing_state=vm.power_state.value)
            vm = replace(vm, power_state=target)
            self._vms[instance_uuid] = vm
            return vm

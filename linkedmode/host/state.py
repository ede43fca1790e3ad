"""The state of one ESXi host: the VMs registered on it and the ones it runs.

A host's state lives in its process only: a host that restarts has no VMs until its vCenter registers
them again (as hostd after a reboot, before vpxa reconnects).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from ..model.fault_rules import FaultInjector
from ..model.faults import (
    AlreadyExists,
    Fault,
    InsufficientMemoryResourcesFault,
    InvalidArgument,
    InvalidPowerState,
    NotFound,
)
from ..model.settings import PowerState
from ..model.validation import required, vm_resources
from ..model.versions import Version, build_number, encrypted_vmotion_supported, max_concurrent_vmotions
from ..topology.spec import HostSpec
from ..vmotion.digest import PAGE_SIZE
from ..vmotion.guest import GuestMemory, GuestWorkload
from .announce import HostNetwork


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

    def __post_init__(self) -> None:
        required("instance_uuid", self.instance_uuid)
        vm_resources("", self.memory_mb, self.num_cpu, self.dirty_rate_mbps, self.working_set_mb)


@dataclass(frozen=True)
class HostVm:
    config: HostVmConfig
    power_state: PowerState = PowerState.POWERED_OFF


class Guest:
    """A running VM's memory and vCPUs: real memory in this process, written by the guest workload."""

    def __init__(self, config: HostVmConfig, memory: GuestMemory | None = None) -> None:
        self.memory = memory or GuestMemory(config.memory_mb)
        self.started = time.monotonic()
        self._cpu_before = 0.0             # CPU time of the workloads it had before its current one
        self.workload = GuestWorkload(self.memory, config.dirty_rate_mbps, config.working_set_mb or None)
        if config.dirty_rate_mbps > 0:
            self.workload.start()

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def cpu_seconds(self) -> float:
        """CPU time its vCPUs used since it started running here."""
        return self._cpu_before + self.workload.cpu_seconds

    @property
    def mem_consumed_kb(self) -> int:
        """Guest memory written, so backed by this host (pages never written cost nothing)."""
        return self.memory.written_count() * PAGE_SIZE // 1024

    def stop(self) -> None:
        self.workload.stop()
        self.memory.close()

    def retune(self, config: HostVmConfig) -> GuestWorkload:
        """A new workload with the config's rate and working set; returns the old one, to be stopped."""
        old = self.workload
        self._cpu_before += old.cpu_seconds
        self.workload = GuestWorkload(self.memory, config.dirty_rate_mbps, config.working_set_mb or None)
        if config.dirty_rate_mbps > 0:
            self.workload.start()
        return old


@dataclass
class HostState:
    spec: HostSpec
    domain: str
    managed_by: str
    vmotion_address: str = ""
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(""))
    network: HostNetwork = field(default_factory=HostNetwork)
    _vms: dict[str, HostVm] = field(default_factory=dict)
    _guests: dict[str, Guest] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

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

    def register_all(self, configs: list[HostVmConfig], power_on: set[str]) -> list[HostVm]:
        """Registers each VM, then powers on those of ``power_on`` that do not run yet; the first fault
        stops there (what came before it stays done). Returns the VMs in the order given."""
        unknown = power_on - {config.instance_uuid for config in configs}
        if unknown:
            raise InvalidArgument(f"power_on names {', '.join(sorted(unknown))}, not among the VMs registered",
                                  argument="power_on")
        for config in configs:
            self.register(config)
        for config in configs:
            if config.instance_uuid in power_on and self.vm(config.instance_uuid).power_state != PowerState.POWERED_ON:
                self.power_on(config.instance_uuid)
        return [self.vm(config.instance_uuid) for config in configs]

    def unregister(self, instance_uuid: str) -> None:
        with self._lock:
            vm = self._get(instance_uuid)
            if vm.power_state != PowerState.POWERED_OFF:
                raise InvalidPowerState(f"{vm.config.name} is {vm.power_state.value} on {self.name}; power it off first",
                                        object=instance_uuid, requested_state=PowerState.POWERED_OFF.value,
                                        existing_state=vm.power_state.value)
            del self._vms[instance_uuid]

    def power_on(self, instance_uuid: str) -> HostVm:
        with self._lock:
            self.check_fits(self._get(instance_uuid).config)
            vm = self._set_power(instance_uuid, PowerState.POWERED_ON)
            try:
                self._guests[instance_uuid] = Guest(vm.config)
            except Fault:          # its memory could not be had: it stays off
                self._vms[instance_uuid] = replace(vm, power_state=PowerState.POWERED_OFF)
                raise
            return vm

    def power_off(self, instance_uuid: str) -> HostVm:
        with self._lock:
            vm = self._set_power(instance_uuid, PowerState.POWERED_OFF)
            guest = self._guests.pop(instance_uuid, None)
        if guest is not None:
            guest.stop()
        return vm

    def set_workload(self, instance_uuid: str, dirty_rate_mbps: float, working_set_mb: int) -> HostVm:
        """How the VM's guest writes its memory from now on: its config, and its running guest if any.
        The caller makes sure no migration holds the guest's workload."""
        with self._lock:
            vm = self._get(instance_uuid)
            vm = replace(vm, config=replace(vm.config, dirty_rate_mbps=dirty_rate_mbps, working_set_mb=working_set_mb))
            self._vms[instance_uuid] = vm
            guest = self._guests.get(instance_uuid)
            old = guest.retune(vm.config) if guest is not None else None
        if old is not None:
            old.stop()
        return vm

    def guest(self, instance_uuid: str) -> Guest:
        """The running guest of a powered-on VM."""
        with self._lock:
            vm = self._get(instance_uuid)
            guest = self._guests.get(instance_uuid)
            if guest is None:
                raise InvalidPowerState(f"{vm.config.name} is {vm.power_state.value} on {self.name}", object=instance_uuid,
                                        requested_state=PowerState.POWERED_ON.value, existing_state=vm.power_state.value)
            return guest

    def adopt(self, config: HostVmConfig, memory: GuestMemory) -> HostVm:
        """A VM that arrived by vMotion: it runs here now, on the memory that crossed."""
        with self._lock:
            if config.instance_uuid in self._vms:
                raise AlreadyExists(f"host {self.name} already has VM {config.name}", object=config.instance_uuid)
            vm = HostVm(config, PowerState.POWERED_ON)
            self._vms[config.instance_uuid] = vm
            self._guests[config.instance_uuid] = Guest(config, memory)
            return vm

    def drop(self, instance_uuid: str) -> None:
        """The VM left by vMotion: its copy here is powered off and forgotten."""
        with self._lock:
            self._vms.pop(instance_uuid, None)
            guest = self._guests.pop(instance_uuid, None)
        if guest is not None:
            guest.stop()

    def running_guests(self) -> list[tuple[HostVmConfig, Guest]]:
        """Every VM that runs here, with its guest."""
        with self._lock:
            return [(self._vms[uuid].config, guest) for uuid, guest in self._guests.items() if uuid in self._vms]

    def has(self, instance_uuid: str) -> bool:
        with self._lock:
            return instance_uuid in self._vms

    def vms(self) -> list[HostVm]:
        with self._lock:
            return sorted(self._vms.values(), key=lambda v: v.config.name)

    def vm(self, instance_uuid: str) -> HostVm:
        with self._lock:
            return self._get(instance_uuid)

    def reset(self) -> None:
        with self._lock:
            guests = list(self._guests.values())
            self._vms.clear()
            self._guests.clear()
        self.network.reset()
        for guest in guests:
            guest.stop()

    def check_fits(self, config: HostVmConfig) -> None:
        """A VM larger than the host's memory cannot run here, whatever else runs."""
        if config.memory_mb > self.spec.memory_mb:
            raise InsufficientMemoryResourcesFault(
                f"{config.name or config.instance_uuid} needs {config.memory_mb} MB; host {self.name} has {self.spec.memory_mb} MB",
                object=config.instance_uuid, requested=config.memory_mb, unreserved=self.spec.memory_mb)

    def _get(self, instance_uuid: str) -> HostVm:
        required("instance_uuid", instance_uuid)
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

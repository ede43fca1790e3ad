"""Guest control for the Emulator service: how a VM's guest writes its memory, markers written into
it, and the digest of what it holds, wherever it runs now. What lets a client prove what crossed a
migration without a host certificate."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..model.events import VM_RECONFIGURED
from ..model.faults import InvalidArgument, InvalidPowerState
from ..model.inventory import Host, Vm
from ..model.settings import PowerState
from ..model.validation import number, vm_resources, whole_number
from ..v1 import inventory_pb2
from ..vmotion.guest import PAGES_PER_MB
from .events import vm_event
from .host_client import HostAgentClient, HostConnections
from .state import VCenterState

MAX_MARKER = 4096


@dataclass(frozen=True)
class MemoryWrite:
    """What to write into a guest: random bytes over a fraction of it, and/or a marker at one page or
    at every `every_pages`-th page."""

    random_fraction: float = 0.0
    marker: bytes = b""
    page: int | None = None
    every_pages: int = 0

    def check(self, vm: Vm) -> MemoryWrite:
        number("random_fraction", self.random_fraction, 0, 1)
        if not self.random_fraction and not self.marker:
            raise InvalidArgument("give random_fraction, marker or both", argument="marker")
        if self.marker and len(self.marker) > MAX_MARKER:
            raise InvalidArgument(f"marker must be 1..{MAX_MARKER} bytes", argument="marker")
        if self.page is not None:
            if not self.marker:
                raise InvalidArgument("page places a marker: give the marker", argument="page")
            whole_number("page", self.page, 0, vm.memory_mb * PAGES_PER_MB - 1)
        whole_number("every_pages", self.every_pages, 0, vm.memory_mb * PAGES_PER_MB)
        return self


class GuestControl:
    def __init__(self, state: VCenterState, hosts: HostConnections) -> None:
        self.state = state
        self.hosts = hosts

    def set_workload(self, vm: Vm, dirty_rate_mbps: float, working_set_mb: int, user: str) -> Vm:
        """The inventory first checked, then the running guest, then the inventory written: a host that
        refuses (the VM is migrating) leaves both as they were."""
        vm_resources("workload.", vm.memory_mb, vm.num_cpu, dirty_rate_mbps, working_set_mb)
        if vm.power_state == PowerState.POWERED_ON:
            self.hosts.agent(self.state.get(vm.host, Host)).set_guest_workload(
                replace(vm, dirty_rate_mbps=dirty_rate_mbps, working_set_mb=working_set_mb))
        changed = replace(self.state.get(vm.moid, Vm), dirty_rate_mbps=dirty_rate_mbps, working_set_mb=working_set_mb)
        message = f"Reconfigured {vm.name}: guest dirties {dirty_rate_mbps:g} MB/s over {working_set_mb} MB"
        self.state.update(put=[changed], events=[vm_event(self.state, VM_RECONFIGURED, changed, message, user=user)])
        return changed

    def write_memory(self, vm: Vm, write: MemoryWrite) -> inventory_pb2.GuestMemoryInfo:
        write.check(vm)
        return self._agent(vm).write_guest_memory(vm, random_fraction=write.random_fraction, marker=write.marker,
                                                  every_pages=write.every_pages, page=write.page)

    def memory(self, vm: Vm) -> inventory_pb2.GuestMemoryInfo:
        return self._agent(vm).guest_memory(vm)

    def _agent(self, vm: Vm) -> HostAgentClient:
        if vm.power_state != PowerState.POWERED_ON:
            raise InvalidPowerState(f"{vm.name} is {vm.power_state.value}: only a running guest has memory to write or read",
                                    object=vm.moid, requested_state=PowerState.POWERED_ON.value, existing_state=vm.power_state.value)
        return self.hosts.agent(self.state.get(vm.host, Host))

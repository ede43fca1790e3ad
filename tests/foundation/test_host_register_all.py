"""A host takes its VMs in one call when its vCenter connects (RegisterVms): register all, power on those named."""

from __future__ import annotations

import pytest

from linkedmode.host.state import HostState, HostVmConfig
from linkedmode.model.faults import InsufficientMemoryResourcesFault
from linkedmode.model.settings import PowerState
from linkedmode.model.versions import Version
from linkedmode.topology.spec import HostSpec


def host(memory_mb: int = 65536) -> HostState:
    return HostState(HostSpec("esx-1", Version(7, 0, 3), memory_mb=memory_mb), "vsphere.local", "vc-1")


def test_registers_every_vm_and_powers_on_those_named_once() -> None:
    state = host()
    configs = [HostVmConfig(f"uuid-{n}", f"vm-{n}", memory_mb=1024) for n in range(4)]
    vms = state.register_all(configs, {"uuid-1", "uuid-3"})
    assert [vm.power_state for vm in vms] == [PowerState.POWERED_OFF, PowerState.POWERED_ON,
                                              PowerState.POWERED_OFF, PowerState.POWERED_ON]
    again = state.register_all(configs, {"uuid-1", "uuid-3"})          # a vCenter reconnecting: nothing changes
    assert [vm.power_state for vm in again] == [vm.power_state for vm in vms]
    state.reset()


def test_the_first_vm_that_cannot_run_stops_the_call_with_its_fault() -> None:
    state = host(memory_mb=2048)
    configs = [HostVmConfig("uuid-small", "small", memory_mb=1024), HostVmConfig("uuid-big", "big", memory_mb=4096)]
    with pytest.raises(InsufficientMemoryResourcesFault) as error:
        state.register_all(configs, {"uuid-small", "uuid-big"})
    assert error.value.message == "big needs 4096 MB; host esx-1 has 2048 MB"
    assert state.vm("uuid-small").power_state is PowerState.POWERED_ON        # what came before it stays done
    assert state.vm("uuid-big").power_state is PowerState.POWERED_OFF
    state.reset()

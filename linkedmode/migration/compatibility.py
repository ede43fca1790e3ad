"""Whether the destination can run the VM as it runs now (rows V10, V12): the CPU features it uses,
and the networks its NICs join. Pure checks on inventory values; the destination's checks call them."""

from __future__ import annotations

from dataclasses import replace

from ..model.cpu import EvcBaseline
from ..model.faults import FeatureRequirementsNotMet
from ..model.inventory import Host, Vm
from ..model.settings import PowerState


def with_cpu_requirement(vm: Vm, source: Host) -> Vm:
    """The VM as it leaves `source`: a running (or suspended) VM keeps the CPU features it started with,
    or takes those its host offers; a powered-off VM takes new ones where it next powers on."""
    if vm.power_state == PowerState.POWERED_OFF:
        return replace(vm, min_required_evc_mode_key="")
    return replace(vm, min_required_evc_mode_key=vm.min_required_evc_mode_key or source.current_evc_mode_key)


def check_cpu(vm: Vm, host: Host) -> None:
    """Row V10: the target host must offer every CPU feature the VM uses (its own CPU, or its cluster's
    EVC mode). A powered-off VM has no requirement."""
    if vm.power_state == PowerState.POWERED_OFF or not vm.min_required_evc_mode_key:
        return
    required = EvcBaseline.named(vm.min_required_evc_mode_key)
    offered = EvcBaseline.named(host.current_evc_mode_key)
    if offered.covers(required):
        return
    source = "its cluster's EVC mode" if host.evc_mode else "its CPU"
    raise FeatureRequirementsNotMet(
        f"{vm.name} runs with the CPU features of {required.key}, and host {host.name} offers only {offered.key} "
        f"({source}): {offered.why_not(required)}; the host does not support the VM's current hardware requirements",
        object=host.name, required=required.key, offered=offered.key)

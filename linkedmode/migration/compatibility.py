"""Whether the destination can run the VM as it runs now (rows V10, V12): the CPU features it uses,
and the networks its NICs join. Pure checks on inventory values; the destination's checks call them."""

from __future__ import annotations

from dataclasses import replace

from ..model.cpu import EvcBaseline
from ..model.faults import FeatureRequirementsNotMet, InvalidArgument, InvalidDeviceBacking, VMOnVirtualIntranet
from ..model.inventory import Host, Network, Nic, Vm
from ..model.settings import PowerState
from .spec import NetworkChange, SourceNetwork

DISTRIBUTED = "distributed"


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


def nic_networks(vm: Vm, source_networks: tuple[str, ...], changes: tuple[NetworkChange, ...]) -> tuple[str, ...]:
    """Per NIC, the network it joins at the destination: the one RelocateSpec.deviceChange names, else
    the one of the same name as at the source (row V12)."""
    labels = [n.label for n in vm.nics]
    wanted: dict[str, str] = {}
    for i, change in enumerate(changes):
        if change.device not in labels:
            raise InvalidArgument(f"{vm.name} has no NIC {change.device!r} (it has {', '.join(labels) or 'none'})",
                                  argument=f"spec.device_change[{i}].device")
        if change.device in wanted:
            raise InvalidArgument(f"{change.device} of {vm.name} is given twice", argument=f"spec.device_change[{i}].device")
        wanted[change.device] = change.network
    return tuple(wanted.get(nic.label, name) for nic, name in zip(vm.nics, source_networks, strict=True))


def check_network(vm: Vm, nic: Nic, source: SourceNetwork, destination: Network) -> None:
    """Row V12: a NIC cannot move from a distributed switch to a standard one, nor between distributed
    switches of different versions, nor to a network without physical uplinks."""
    where = f"{nic.label} of {vm.name} would move from network {source.name!r} to {destination.name!r}"
    if source.switch_type == DISTRIBUTED and not destination.distributed:
        raise InvalidDeviceBacking(f"{where}: vMotion from a distributed switch to a standard switch "
                                   f"({destination.switch}) is not supported", object=destination.name, device=nic.label)
    if source.switch_type == DISTRIBUTED and source.switch_version and source.switch_version != destination.switch_version:
        raise InvalidDeviceBacking(f"{where}: vMotion between distributed switches of different versions "
                                   f"({source.switch_version} and {destination.switch_version}) is not supported",
                                   object=destination.name, device=nic.label)
    if destination.uplinks == 0:
        raise VMOnVirtualIntranet(f"{where}, which has no physical uplinks: it is a virtual intranet",
                                  object=destination.name, device=nic.label)

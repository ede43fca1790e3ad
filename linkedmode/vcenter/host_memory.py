"""A host's free memory: one rule for every decision of a vCenter that needs it (where a new VM goes,
where an evacuation sends each VM, whether an arrival fits its target host).

A host's memory, less each VM that holds memory there: the powered-on VMs the inventory puts on it, and
the live (hot) arrivals coming to it, which hold their memory from their reservation until they are in
the inventory. A VM counts once: an arrival already committed into the inventory is the VM its row names.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..migration.journal import ArrivalRow
from ..model.inventory import Host, Vm
from ..model.settings import PowerState
from .state import VCenterState


def free_memory_mb(state: VCenterState, arrivals: Iterable[ArrivalRow] = (), *, ignore_uuid: str = "") -> dict[str, int]:
    """Host moid -> MB of memory free, for every host of this vCenter. `arrivals`: the migrations this
    vCenter expects; `ignore_uuid`: the instance UUID of a VM not to count (the one a check is about)."""
    hosts = state.all(Host)
    held: dict[str, dict[str, int]] = {host.moid: {} for host in hosts}      # host -> VM -> MB
    for vm in state.all(Vm):
        if vm.power_state == PowerState.POWERED_ON and vm.host in held and (not ignore_uuid or vm.instance_uuid != ignore_uuid):
            held[vm.host][vm.instance_uuid or vm.moid] = vm.memory_mb
    for row in arrivals:
        if row.arrival.hot and row.host in held and (not ignore_uuid or row.vm.instance_uuid != ignore_uuid):
            held[row.host].setdefault(row.vm.instance_uuid or f"arrival-{row.migration_id:016x}", row.vm.memory_mb)
    return {host.moid: host.memory_mb - sum(held[host.moid].values()) for host in hosts}

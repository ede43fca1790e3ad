"""The one way a vCenter describes something that happened to a VM as an event (vSphere's names)."""

from __future__ import annotations

from ..model.events import Event
from ..model.inventory import Datacenter, Host, Vm
from .state import VCenterState


def vm_event(state: VCenterState, type_: str, vm: Vm, message: str, *, host: str = "", user: str = "", task: str = "",
             arguments: dict[str, str] | None = None, chain_id: int = 0) -> Event:
    """An event about `vm` in this vCenter; `host` is a host's name (default: the VM's host here)."""
    if not host and vm.host:
        host = state.get(vm.host, Host).name
    datacenter = state.get(vm.datacenter, Datacenter).name if vm.datacenter else ""
    return Event(type_, message, user=user, vm=vm.moid, vm_name=vm.name, host=host, datacenter=datacenter, task=task,
                 arguments=dict(arguments or {}), chain_id=chain_id)

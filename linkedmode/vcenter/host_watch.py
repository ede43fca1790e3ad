"""A vCenter watching for hosts that came back: a host that restarted holds no VM, while the inventory
places VMs on it; one that did not answer may answer again. Either is connected again (its VMs
registered and the powered-on ones started, as `connect_hosts` does at start, what vSphere HA does).

Used where hosts are processes of their own that a supervisor restarts on the same address.
"""

from __future__ import annotations

import logging

from ..model.faults import Fault
from ..model.inventory import HOST_NOT_RESPONDING, Host, Vm
from .vcenter import VCenter

log = logging.getLogger(__name__)


def hosts_to_reconnect(vc: VCenter) -> list[Host]:
    """The hosts that answer now but hold none of the VMs the inventory places on them, or that were
    marked not responding."""
    placed: dict[str, int] = {}
    for vm in vc.state.all(Vm):
        placed[vm.host] = placed.get(vm.host, 0) + 1
    found = []
    for host in vc.state.all(Host):
        try:
            held = vc.hosts.agent(host).running()
        except Fault:
            continue      # still away
        if host.connection_state == HOST_NOT_RESPONDING or (placed.get(host.moid) and not held):
            found.append(host)
    return found


def reconnect_returned_hosts(vc: VCenter) -> list[str]:
    """Connects again every host that came back; returns their names."""
    if not vc.alive:
        return []
    returned = hosts_to_reconnect(vc)
    for host in returned:
        log.warning("host %s came back: connecting it again", host.name)
        vc.host_moved(host.name, host.agent_address)
    return [h.name for h in returned]

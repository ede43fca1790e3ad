"""The invariant of vMotion, checked on a running estate: every VM runs on exactly one host, the
inventories agree with the hosts, and no migration, reservation or key is left behind anywhere.

Reads the parts of an in-process estate directly (a checker, not a client): parts that were killed
are skipped, and nothing may be placed on them.
"""

from __future__ import annotations

import time
from typing import Iterable

from .estate import Estate
from .model.inventory import Host, Vm
from .model.settings import PowerState


def keys_held(estate: Estate) -> int:
    """Migration keys still held by the estate's hosts (vCenters hold theirs only during the call that
    makes and sends them, and wipe them in its `finally`)."""
    return sum(h.migrations.keys_held() for h in estate.hosts.values() if h.running and h.migrations is not None)


def check_invariant(estate: Estate, domain: str = "vsphere.local", vms: Iterable[str] | None = None) -> list[str]:
    """Every way the estate breaks the invariant, in words; empty when it holds. `vms` limits the
    per-VM checks to those names (a VM on a host that was killed is lost with it, as in vSphere)."""
    only = set(vms) if vms is not None else None
    problems: list[str] = []
    vcenters = [s for s in estate.vcenters.values() if s.domain.name == domain and s.running]
    hosts = {name: h for name, h in estate.hosts.items() if h.state.domain == domain and h.running}
    placed: dict[str, list[tuple[str, Vm]]] = {}
    for server in vcenters:
        vc = server.vcenter
        for vm in vc.state.all(Vm):
            if only is not None and vm.name not in only:
                continue
            placed.setdefault(vm.instance_uuid, []).append((vc.name, vm))
        if vc.incoming.pending():
            problems.append(f"{vc.name} still holds {len(vc.incoming.pending())} prepared arrivals")
        unfinished = [t.key for t in vc.state.tasks() if not t.state.done]
        if unfinished:
            problems.append(f"{vc.name} has tasks that never ended: {', '.join(unfinished)}")
    running = {name: {vm.config.instance_uuid: vm for vm in h.state.vms()} for name, h in hosts.items()}
    for name, host in hosts.items():
        assert host.migrations is not None
        if host.migrations.snapshots() or host.migrations.listener.migrations:
            problems.append(f"host {name} still has migrations in flight")
    for instance_uuid, owners in placed.items():
        names = ", ".join(f"{vc}/{vm.name}" for vc, vm in owners)
        if len(owners) != 1:
            problems.append(f"VM {instance_uuid} is in {len(owners)} inventories: {names}")
            continue
        vcenter, vm = owners[0]
        host_name = next(s.vcenter.state.get(vm.host, Host).name for s in vcenters if s.name == vcenter)
        holders = [h for h, vms in running.items() if instance_uuid in vms]
        if host_name not in hosts:
            problems.append(f"{vm.name} is placed on {host_name}, which is down")
        elif holders != [host_name]:
            problems.append(f"{vm.name} belongs on {host_name} (per {vcenter}) but is held by {holders or 'no host'}")
        elif vm.power_state == PowerState.POWERED_ON and running[host_name][instance_uuid].power_state != PowerState.POWERED_ON:
            problems.append(f"{vm.name} is powered on per {vcenter} but not running on {host_name}")
    keys = keys_held(estate)
    if keys:
        problems.append(f"{keys} migration keys are still held")
    return problems



def settled_invariant(estate: Estate, domain: str = "vsphere.local", vms: Iterable[str] | None = None,
                      timeout: float = 10.0) -> list[str]:
    """The invariant once the estate had up to `timeout` seconds to finish what was in flight (a
    destination still resuming, a host still dropping its copy)."""
    deadline = time.monotonic() + timeout
    while True:
        problems = check_invariant(estate, domain, vms)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.05)

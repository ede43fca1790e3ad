"""The invariant of vMotion, checked on a running estate: every VM runs on exactly one host, the
inventories agree with the hosts, and no migration, reservation or key is left behind anywhere.

Reads the parts of an in-process estate directly (a checker, not a client): parts that were killed
are skipped, and nothing may be placed on them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .estate import Estate
from .model.inventory import Host, Vm
from .model.settings import PowerState


def keys_held(estate: Estate) -> int:
    """Migration keys still held by the estate's hosts (vCenters hold theirs only during the call that
    makes and sends them, and wipe them in its `finally`)."""
    return sum(h.migrations.keys_held() for h in estate.hosts.values() if h.running and h.migrations is not None)


def part_problems(estate: Estate, domain: str = "vsphere.local") -> list[str]:
    """What the parts still hold that a finished migration must not leave: arrivals, tasks, streams, keys."""
    problems = []
    for server in estate.vcenters.values():
        if server.domain.name != domain or not server.running:
            continue
        vc = server.vcenter
        if vc.arrivals.pending():
            problems.append(f"{vc.name} still holds {len(vc.arrivals.pending())} prepared arrivals")
        unfinished = [t.key for t in vc.state.tasks() if not t.state.done]
        if unfinished:
            problems.append(f"{vc.name} has tasks that never ended: {', '.join(unfinished)}")
    for name, host in estate.hosts.items():
        migrations = host.migrations
        if host.state.domain == domain and host.running and migrations is not None and (
                migrations.snapshots() or migrations.listener.migrations):
            problems.append(f"host {name} still has migrations in flight")
    keys = keys_held(estate)
    if keys:
        problems.append(f"{keys} migration keys are still held")
    return problems


def vm_problems(estate: Estate, domain: str = "vsphere.local", vms: Iterable[str] | None = None) -> dict[str, list[str]]:
    """For each VM (all, or those named) that breaks the invariant, how."""
    only = set(vms) if vms is not None else None
    vcenters = [s for s in estate.vcenters.values() if s.domain.name == domain and s.running]
    hosts = {name: h for name, h in estate.hosts.items() if h.state.domain == domain and h.running}
    running = {name: {vm.config.instance_uuid: vm for vm in h.state.vms()} for name, h in hosts.items()}
    placed: dict[str, list[tuple[str, Vm, str]]] = {}
    for server in vcenters:
        for vm in server.vcenter.state.all(Vm):
            if only is None or vm.name in only:
                host = server.vcenter.state.get(vm.host, Host).name
                placed.setdefault(vm.instance_uuid, []).append((server.name, vm, host))
    problems: dict[str, list[str]] = {}
    for instance_uuid, owners in placed.items():
        name = owners[0][1].name
        if len(owners) != 1:
            problems.setdefault(name, []).append(f"{name} is in {len(owners)} inventories: {', '.join(o[0] for o in owners)}")
            continue
        vcenter, vm, host = owners[0]
        holders = [h for h, held in running.items() if instance_uuid in held]
        if host not in hosts:
            problems.setdefault(name, []).append(f"{name} is placed on {host}, which is down")
        elif holders != [host]:
            problems.setdefault(name, []).append(f"{name} belongs on {host} (per {vcenter}) but is held by {holders or 'no host'}")
        elif vm.power_state == PowerState.POWERED_ON and running[host][instance_uuid].power_state != PowerState.POWERED_ON:
            problems.setdefault(name, []).append(f"{name} is powered on per {vcenter} but not running on {host}")
    if only is not None:
        for missing in only - {o[1].name for owners in placed.values() for o in owners}:
            problems.setdefault(missing, []).append(f"{missing} is in no inventory")
    return problems


def check_invariant(estate: Estate, domain: str = "vsphere.local", vms: Iterable[str] | None = None) -> list[str]:
    """Every way the estate breaks the invariant, in words; empty when it holds. `vms` limits the
    per-VM checks to those names (a VM on a host that was killed is lost with it, as in vSphere)."""
    return part_problems(estate, domain) + [p for found in vm_problems(estate, domain, vms).values() for p in found]


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

"""linkedmode bench evacuate: a host of 64 running VMs evacuated into a linked vCenter through the public
API (EvacuateHost), in one process on loopback. Figures: wall time from the call to the task's end,
total and worst downtime of the live moves, failures, bytes on the stream, the process's resident
memory once the estate is up, at its peak (a destination backs a whole guest from prepare to its
HELLO) and once the VMs have moved (the estate is all this process holds), and, per host of
both vCenters, the most vMotions it ran at once beside its limit (which must never be exceeded).
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

from ..client import connect_vcenter
from ..estate import Estate, start_estate
from ..model.inventory import Host
from ..topology import parse_topology
from ..v1 import common_pb2, vcenter_pb2
from .scale_estate import resident_mib


def topology(vms: int, memory_mb: int, destination_hosts: int, dirty_rate_mbps: float, working_set_mb: int) -> dict[str, Any]:
    """Two linked vCenters: `src` (one 10 GbE host with every VM) and `dst` (`destination_hosts` of them)."""
    guest = {"dirty_rate_mbps": dirty_rate_mbps, "working_set_mb": working_set_mb}
    source_vms = [{"name": f"vm-{i:03d}", "host": "src-1", "memory_mb": memory_mb, "migrate_encryption": "required",
                   "nics": [{"network": "VM Network"}], "disks": [{"datastore": "ds-src", "capacity_mb": 64}], "guest": guest}
                  for i in range(vms)]
    room = vms * memory_mb // max(1, destination_hosts) + 4 * memory_mb

    def vcenter(name: str, hosts: list[dict[str, Any]], vms: list[dict[str, Any]]) -> dict[str, Any]:
        return {"name": name, "version": "7.0.3", "datacenters": [{
            "name": f"dc-{name}", "clusters": [{"name": f"cluster-{name}", "hosts": hosts}],
            "datastores": [{"name": f"ds-{name}"}], "networks": [{"name": "VM Network"}], "vms": vms}]}

    source = vcenter("src", [{"name": "src-1", "version": "7.0.3", "memory_mb": vms * memory_mb + 1024}], source_vms)
    destination = vcenter("dst", [{"name": f"dst-{i}", "version": "7.0.3", "memory_mb": room}
                                  for i in range(1, destination_hosts + 1)], [])
    return {"sso_domains": [{"name": "bench.local", "vcenters": [source, destination]}]}


def slot_figures(estate: Estate) -> dict[str, dict[str, int]]:
    """Per host of every vCenter: the most vMotions it ran at once, and its limit."""
    found: dict[str, dict[str, int]] = {}
    for server in estate.vcenters.values():
        vc = server.vcenter
        for host in vc.state.all(Host):
            found[host.name] = {"peak": vc.slots.peak(host.moid), "limit": host.max_concurrent_vmotions}
    return found


def run_evacuation_benchmark(vms: int = 64, memory_mb: int = 256, destination_hosts: int = 4, dirty_rate_mbps: float = 2.0,
                             working_set_mb: int = 8, say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Evacuates `src-1` (with `vms` running VMs of `memory_mb`) into vCenter `dst`; returns the figures."""
    spec = parse_topology(topology(vms, memory_mb, destination_hosts, dirty_rate_mbps, working_set_mb), "bench-evacuate")
    say(f"starting 2 vCenters, {1 + destination_hosts} hosts, {vms} VMs of {memory_mb} MiB")
    with start_estate(spec) as estate:
        up_rss_mib = resident_mib()
        server = estate.vcenters["src"]
        client = connect_vcenter(server.address, estate.credential("bench.local", "user", "administrator"), "src")
        try:
            say("evacuating src-1 into dst")
            started = time.perf_counter()
            started_task = client.api.EvacuateHost(vcenter_pb2.EvacuateHostRequest(host="src-1", target_vcenter="dst"))
            task = list(client.api.WaitTask(vcenter_pb2.GetTaskRequest(key=started_task.key), timeout=1800))[-1]
            wall = time.perf_counter() - started
        finally:
            client.close()
        end_rss_mib = resident_mib()
        slots = slot_figures(estate)
    if task.state != common_pb2.TASK_STATE_SUCCESS:
        raise RuntimeError(f"the evacuation failed: {task.error.name}: {task.error.message}")
    moved = [o for o in task.bulk.vms if o.succeeded]
    downtimes = [o.migration.stream.downtime_ms for o in moved if o.migration.HasField("stream")]
    return {
        "vms": vms,
        "memory_mb": memory_mb,
        "destination_hosts": destination_hosts,
        "wall_seconds": round(wall, 2),
        "moved": len(moved),
        "failures": task.bulk.failed,
        "failed": {o.name: f"{o.fault.name}: {o.fault.message}" for o in task.bulk.vms if not o.succeeded},
        "encrypted": sum(1 for o in moved if o.migration.encrypted),
        "total_downtime_ms": round(sum(downtimes), 1),
        "median_downtime_ms": round(statistics.median(downtimes), 1) if downtimes else 0.0,
        "max_downtime_ms": round(max(downtimes), 1) if downtimes else 0.0,
        "stream_bytes": sum(o.migration.stream.bytes_sent + o.migration.stream.disk_bytes for o in moved),
        "median_queued_ms": round(statistics.median(o.migration.queued_ms for o in moved), 1) if moved else 0.0,
        "estate_up_rss_mib": round(up_rss_mib, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "end_rss_mib": round(end_rss_mib, 1),
        "slots": slots,
        "slots_exceeded": sorted(h for h, s in slots.items() if s["peak"] > s["limit"]),
    }

"""Asking for a migration as a client does: build the RelocateSpec (with a ServiceLocator from the
target's AboutInfo when it is another vCenter), start it, follow its task, say how it went."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.faults import NotFound
from ..v1 import common_pb2, inventory_pb2, vcenter_pb2
from .connection import VCenterClient
from .faults import faults_raised, task_fault
from .tasks import Progress, wait_task


@dataclass(frozen=True)
class Placement:
    """The RelocateSpec fields, resolved to names in the target vCenter."""

    host: str
    datastore: str
    pool: str


def choose_placement(target: VCenterClient, host: str, datastore: str | None = None, pool: str | None = None) -> Placement:
    """Fills in what the user left out: a datastore the host mounts (shared first), the host's cluster."""
    with faults_raised():
        hosts = {h.name: h for h in target.api.ListHosts(inventory_pb2.ListRequest()).hosts}
        if host not in hosts:
            raise NotFound(f"{target.name} has no host {host!r} (it has {', '.join(sorted(hosts))})", object=host)
        chosen = hosts[host]
        if datastore is None:
            mounted = [d for d in target.api.ListDatastores(inventory_pb2.ListRequest()).datastores if d.moid in chosen.datastores]
            mounted.sort(key=lambda d: (d.type != "shared", d.name))
            if not mounted:
                raise NotFound(f"host {host} mounts no datastore", object=host)
            datastore = mounted[0].name
        if pool is None:
            pool = next(c.name for c in target.api.ListClusters(inventory_pb2.ListRequest()).clusters if c.moid == chosen.cluster)
    return Placement(host, datastore, pool)


def service_locator(target: VCenterClient) -> vcenter_pb2.ServiceLocator:
    """The ServiceLocator naming `target`, filled in from its GetAbout (row X3)."""
    with faults_raised():
        about = target.api.GetAbout(vcenter_pb2.GetAboutRequest())
    return vcenter_pb2.ServiceLocator(instance_uuid=about.instance_uuid, url=about.url, ssl_thumbprint=about.thumbprint)


def relocate_spec(source: VCenterClient, target: VCenterClient, placement: Placement, *, keep_datastore: bool = False,
                  networks: dict[str, str] | None = None) -> vcenter_pb2.RelocateSpec:
    """A RelocateSpec to `placement` in `target`; with a ServiceLocator when `target` is not `source`.
    `networks` maps a NIC's label ("Network adapter 1") to its network in the target."""
    spec = vcenter_pb2.RelocateSpec(host=placement.host, pool=placement.pool)
    if not keep_datastore:
        spec.datastore = placement.datastore
    if target.name != source.name:
        spec.service.CopyFrom(service_locator(target))
    for device, network in (networks or {}).items():
        spec.device_change.append(vcenter_pb2.VirtualDeviceConfigSpec(device=device, network=network))
    return spec


def run_relocate(source: VCenterClient, vm: str, spec: vcenter_pb2.RelocateSpec, *, on_progress: Progress | None = None,
                 raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
    """Starts RelocateVm on `source` and follows its task to the end (see wait_task)."""
    with faults_raised():
        task = source.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec))
    return wait_task(source, task, on_progress=on_progress, raise_fault=raise_fault, timeout=timeout)


def how_it_crossed(result: common_pb2.MigrationResult) -> str:
    """"encrypted", "plaintext fallback" or "plaintext"."""
    if result.encrypted:
        return "encrypted"
    return "plaintext fallback" if result.fell_back else "plaintext"


def describe_result(task: common_pb2.Task) -> str:
    """One line: how the VM moved, or which fault refused it."""
    fault = task_fault(task)
    if fault is not None:
        return f"refused: {fault}"
    r = task.migration
    if not r.hot:
        return r.reason if r.reason.startswith("cold move") else f"cold move, {r.reason}"
    if not r.HasField("stream"):
        return f"{how_it_crossed(r)}, {r.reason}" + (f" ({r.settled})" if r.settled else "")
    s = r.stream
    return (f"{how_it_crossed(r)}: {s.rounds} rounds, {s.bytes_sent / 1e6:.1f} MB in {s.duration_ms:.0f} ms "
            f"({s.mbps:.1f} MB/s), downtime {s.downtime_ms:.1f} ms")

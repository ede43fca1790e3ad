"""A vCenter's first inventory, made from its part of the topology."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from ..model.events import VM_REGISTERED, Event
from ..model.inventory import Cluster, Datacenter, Datastore, Disk, Host, ManagedObject, Network, Nic, Vm
from ..topology.spec import DatacenterSpec, VCenterSpec
from .datastores import DatastoreFolders
from .macs import MacPool
from .state import VCenterState


def seed_inventory(state: VCenterState, spec: VCenterSpec, host_addresses: dict[str, str],
                   datastores: DatastoreFolders | None = None, macs: MacPool | None = None,
                   new_vm_key: Callable[[str], tuple[str, str]] | None = None) -> None:
    """Writes the topology's inventory for this vCenter. The state must be empty. With `datastores`,
    each datastore gets its folder and each VM's disks their files. MACs the topology leaves open come
    from `macs`, the vCenter's pool. An encrypted VM's (key id, key safe) are made by
    `new_vm_key(provider)` (a data key wrapped under a new key of its provider; its disks' random blocks
    stand for ciphertext), or are a random id and no key safe where there is none. An encrypted vSAN
    datastore's data key is made the same way (row D4)."""
    objects: list[ManagedObject] = []
    events: list[Event] = []
    macs = macs or MacPool(state)
    for dc_spec in spec.datacenters:
        dc_objects, dc_events = _datacenter(state, dc_spec, host_addresses, macs, new_vm_key or (lambda _: (str(uuid.uuid4()), "")))
        objects += dc_objects
        events += dc_events
    if datastores is not None:
        _create_files(datastores, objects)
    state.update(put=objects, events=events, meta={"seeded": "1"})


def ensure_disk_files(state: VCenterState, datastores: DatastoreFolders) -> None:
    """At start: a folder for each datastore, a file for each disk that has none (an inventory made
    before disks had files, or a file lost)."""
    _create_files(datastores, [*state.all(Datastore), *state.all(Vm)], replace=False)


def _create_files(datastores: DatastoreFolders, objects: list[ManagedObject], replace: bool = True) -> None:
    names = {o.moid: o.name for o in objects if isinstance(o, Datastore)}
    for name in names.values():
        datastores.create_folder(name)
    for vm in (o for o in objects if isinstance(o, Vm)):
        for disk in vm.disks:
            if replace or not os.path.exists(datastores.disk_path(names[disk.datastore], vm.name, disk)):
                datastores.create_disk(names[disk.datastore], vm.name, disk)


def _datacenter(state: VCenterState, spec: DatacenterSpec, addresses: dict[str, str],
                macs: MacPool, new_vm_key: Callable[[str], tuple[str, str]]) -> tuple[list[ManagedObject], list[Event]]:
    dc = Datacenter(state.next_moid("datacenter"), spec.name)
    objects: list[ManagedObject] = [dc]
    hosts: dict[str, Host] = {}
    for cluster_spec in spec.clusters:
        cluster = Cluster(state.next_moid("cluster"), cluster_spec.name, datacenter=dc.moid, evc_mode=cluster_spec.evc_mode or "")
        for h in cluster_spec.hosts:
            hosts[h.name] = Host(
                state.next_moid("host"), h.name, version=str(h.version), datacenter=dc.moid, cluster=cluster.moid,
                aes_ni=h.aes_ni, memory_mb=h.memory_mb, vmotion_address=h.vmotion.address,
                vmotion_bandwidth=h.vmotion.bandwidth, agent_address=addresses.get(h.name, h.address), cpu=h.cpu,
                evc_mode=cluster.evc_mode,
            )
            cluster.hosts.append(hosts[h.name].moid)
        objects.append(cluster)
    datastores: dict[str, Datastore] = {}
    for ds in spec.datastores:
        mounted = [hosts[n].moid for n in (ds.hosts or hosts.keys())]
        key_id, key_safe = new_vm_key(ds.key_provider or "") if ds.encrypted else ("", "")
        datastores[ds.name] = Datastore(
            state.next_moid("datastore"), ds.name, type=ds.type, encrypted=ds.encrypted,
            datacenter=dc.moid, capacity_mb=ds.capacity_mb, hosts=mounted,
            key_provider=(ds.key_provider or "") if ds.encrypted else "", key_id=key_id, key_safe=key_safe,
        )
        for moid in mounted:
            next(h for h in hosts.values() if h.moid == moid).datastores.append(datastores[ds.name].moid)
    networks = {n.name: Network(state.next_moid("network"), n.name, datacenter=dc.moid, switch_type=n.type, switch=n.switch,
                                switch_version=str(n.switch_version) if n.switch_version else "", uplinks=n.uplinks)
                for n in spec.networks}
    objects += [*hosts.values(), *datastores.values(), *networks.values()]
    events = []
    fixed_macs = {n.mac_address for v in spec.vms for n in v.nics if n.mac_address}   # the topology's own
    fresh_macs = iter(macs.take(sum(1 for v in spec.vms for n in v.nics if not n.mac_address), fixed_macs))
    for moid, vm_spec in zip(state.next_moids("vm", len(spec.vms)), spec.vms, strict=True):
        key_id, key_safe = new_vm_key(vm_spec.key_provider or "") if vm_spec.encrypted else ("", "")
        vm = Vm(
            moid, vm_spec.name,
            instance_uuid=str(uuid.uuid4()), bios_uuid=str(uuid.uuid4()),
            memory_mb=vm_spec.memory_mb, num_cpu=vm_spec.num_cpu, power_state=vm_spec.power_state,
            migrate_encryption=vm_spec.migrate_encryption, encrypted=vm_spec.encrypted,
            key_provider=(vm_spec.key_provider or "") if vm_spec.encrypted else "",
            key_id=key_id, key_safe=key_safe,
            host=hosts[vm_spec.host].moid, datacenter=dc.moid,
            disks=[Disk(f"Hard disk {i}", datastores[d.datastore].moid, d.capacity_mb, d.encrypted)
                   for i, d in enumerate(vm_spec.disks, 1)],
            nics=[Nic(f"Network adapter {i}", n.mac_address or next(fresh_macs), networks[n.network].moid)
                  for i, n in enumerate(vm_spec.nics, 1)],
            dirty_rate_mbps=vm_spec.guest.dirty_rate_mbps, working_set_mb=vm_spec.guest.working_set_mb,
        )
        objects.append(vm)
        events.append(Event(VM_REGISTERED, f"Registered {vm.name} on {vm_spec.host} in {dc.name}",
                            vm=vm.moid, vm_name=vm.name, host=vm_spec.host, datacenter=dc.name))
    return objects, events

"""The destination vCenter's checks of a VM that would arrive (rows V10, V12, X4, X6): the target host
answers, offers the CPU features the VM runs with, mounts the datastores and has the memory free; the
networks the NICs join exist there and suit them (across vCenters, or where deviceChange names one);
across vCenters no VM there has the same instance UUID or a MAC address of it, and this vCenter can get
an encrypted VM's key, by its id, from its key provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..model.faults import (
    AlreadyExists,
    CryptoFault,
    HostNotConnected,
    InsufficientMemoryResourcesFault,
    InvalidArgument,
    MacAddressConflict,
    MigrationFault,
)
from ..model.inventory import HOST_CONNECTED, HOST_NOT_RESPONDING, Cluster, Datacenter, Datastore, Host, Network, Nic, Vm
from ..model.maintenance import check_takes_vms
from ..vcenter.host_memory import free_memory_mb
from .compatibility import check_cpu, check_network
from .journal import ArrivalRow
from .ports import VCenterParts
from .spec import Arrival, MigrationTarget


class ArrivalChecks:
    """`others(ignore)`: the arrivals this vCenter holds already, but the one with id `ignore`."""

    def __init__(self, vc: VCenterParts, others: Callable[[int | None], list[ArrivalRow]]) -> None:
        self.vc = vc
        self._others = others

    def check(self, arrival: Arrival, target: MigrationTarget, *, ignore: int | None = None) -> tuple[Host, Vm]:
        """The destination's checks; returns the target host and the VM as it would be here.
        `ignore`: a migration already reserved here, not counted against itself."""
        state = self.vc.state
        if not target.host:
            raise InvalidArgument("spec.host is required", argument="spec.host")
        host = self._reachable(state.resolve(Host, target.host))
        check_takes_vms(host, f"{arrival.vm.name} cannot move there")
        if target.pool:
            cluster = state.resolve(Cluster, target.pool)
            if host.moid not in cluster.hosts:
                raise InvalidArgument(f"host {host.name} is not in resource pool {cluster.name}", argument="spec.pool")
        check_cpu(arrival.vm, host)
        datastore = self._datastore(arrival, target, host)
        vm = self._vm_here(arrival, host, datastore)
        self._check_capacity(arrival, host, ignore)
        if arrival.cross:
            self._check_identity(vm, ignore)
            self._check_key_provider(vm)
        return host, vm

    def _reachable(self, host: Host) -> Host:
        """Asks the host itself (the vpxa heartbeat): a host that does not answer is not a target."""
        try:
            self.vc.hosts.agent(host).about(timeout=self.vc.timeouts.host_heartbeat)
        except HostNotConnected:
            if host.connection_state == HOST_CONNECTED:
                self.vc.state.update(put=[replace(host, connection_state=HOST_NOT_RESPONDING)])
            raise HostNotConnected(f"host {host.name} is not responding", object=host.moid) from None
        if host.connection_state != HOST_CONNECTED:
            host = replace(host, connection_state=HOST_CONNECTED)
            self.vc.state.update(put=[host])
        return host

    def _datastore(self, arrival: Arrival, target: MigrationTarget, host: Host) -> Datastore | None:
        state = self.vc.state
        if target.datastore:
            datastore = state.resolve(Datastore, target.datastore)
            if host.moid not in datastore.hosts:
                raise InvalidArgument(f"datastore {datastore.name} is not mounted by host {host.name}", argument="spec.datastore")
            return datastore
        for disk in arrival.vm.disks:
            if disk.datastore not in host.datastores:
                name = state.get(disk.datastore, Datastore).name
                raise InvalidArgument(f"{disk.label} of {arrival.vm.name} is on {name}, which host {host.name} does not mount: "
                                      "give spec.datastore", argument="spec.datastore")
        return None

    def _vm_here(self, arrival: Arrival, host: Host, datastore: Datastore | None) -> Vm:
        vm = arrival.vm
        disks = [replace(d, datastore=datastore.moid) for d in vm.disks] if datastore else list(vm.disks)
        nics = self._nics_here(arrival, host)
        if not arrival.cross:
            return replace(vm, host=host.moid, disks=disks, nics=nics)
        return replace(vm, moid="", host=host.moid, datacenter=host.datacenter, disks=disks, nics=nics)

    def _nics_here(self, arrival: Arrival, host: Host) -> list[Nic]:
        """Each NIC on the network it joins here (RelocateSpec.deviceChange's, else the same name), once
        that network passes the checks of row V12. Inside one vCenter a NIC not named keeps its network."""
        vm = arrival.vm
        networks = [n for n in self.vc.state.all(Network) if n.datacenter == host.datacenter]
        by_name, by_moid = {n.name: n for n in networks}, {n.moid: n for n in networks}
        nics = []
        for i, (nic, wanted) in enumerate(zip(vm.nics, arrival.nic_networks, strict=False)):
            source = arrival.nic_sources[i] if i < len(arrival.nic_sources) else None
            changed = source is not None and wanted != source.name
            if not arrival.cross and not changed:
                nics.append(nic)
                continue
            network = by_name.get(wanted) or by_moid.get(wanted)
            if network is None:
                datacenter = self.vc.state.get(host.datacenter, Datacenter).name
                if changed:
                    raise InvalidArgument(f"{nic.label} of {vm.name} would join network {wanted!r}, which {datacenter} "
                                          f"of {self.vc.name} does not have", argument="spec.device_change")
                raise InvalidArgument(f"{nic.label} of {vm.name} is on network {wanted!r}, which {datacenter} "
                                      f"of {self.vc.name} does not have", argument="spec.network")
            if source is not None and (arrival.cross or network.moid != nic.network):
                check_network(vm, nic, source, network)
            nics.append(replace(nic, network=network.moid))
        return nics

    def _check_capacity(self, arrival: Arrival, host: Host, ignore: int | None) -> None:
        if not arrival.hot:
            return
        free = free_memory_mb(self.vc.state, self._others(ignore), ignore_uuid=arrival.vm.instance_uuid)[host.moid]
        if arrival.vm.memory_mb > free:
            raise InsufficientMemoryResourcesFault(
                f"host {host.name} has {free} MB of memory free; {arrival.vm.name} needs {arrival.vm.memory_mb} MB",
                object=host.moid, unreserved=free, requested=arrival.vm.memory_mb)

    def _check_identity(self, vm: Vm, ignore: int | None) -> None:
        for other in self.vc.state.all(Vm) + [row.vm for row in self._others(ignore)]:
            if other.instance_uuid == vm.instance_uuid:
                raise AlreadyExists(f"{self.vc.name} already has a VM with instance UUID {vm.instance_uuid} ({other.name})",
                                    object=other.moid)
            clash = set(other.mac_addresses) & set(vm.mac_addresses)
            if clash:
                raise MacAddressConflict(
                    f"MAC address {sorted(clash)[0]} of {vm.name} is already used by {other.name} in {self.vc.name}",
                    object=other.moid, mac_address=sorted(clash)[0])

    def _check_key_provider(self, vm: Vm) -> None:
        """Row X6: an encrypted VM needs its key here: this vCenter gets it by id from the VM's key
        provider (the same KMS, or a Native Key Provider restored from the source's backup)."""
        if not vm.encrypted:
            return
        try:
            self.vc.keys.check_key(vm.key_provider, vm.key_id)
        except CryptoFault as fault:
            raise MigrationFault(f"Unable to decrypt the ciphertext. Failed to decrypt the key: {fault.message}",
                                 object=vm.name, key_provider=vm.key_provider) from None

"""Admission of a relocate at the source vCenter: the spec's shape, the destination (this vCenter or the
one the ServiceLocator names: a linked one, rows X2, X3, or one of another SSO domain, row X7), the
destination's checks, and the encryption decision, taken once (rows E2-E4, E6, D1-D3). Nothing is
sent to a host before it is done."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..model.encryption import EncryptionDecision, HostEncryptionSupport, VCenterTooOld, decide_encryption
from ..model.faults import HostNotConnected, InvalidArgument, InvalidState
from ..model.inventory import HOST_CONNECTED, Datastore, Host, Network, Vm
from ..model.settings import PowerState
from ..model.validation import host_port, required
from ..model.versions import ENCRYPTED_CROSS_VCENTER_MIN_VCENTER, Version
from .arrivals import Arrivals, streams
from .compatibility import nic_networks, with_cpu_requirement
from .destinations import Destination, LocalDestination, RemoteDestination
from .foreign import foreign_destination, names_a_linked_vcenter
from .journal import OUTGOING, OutgoingRow
from .locator import resolve_locator
from .ports import VCenterParts
from .spec import Arrival, MigrationTarget, NetworkChange, RelocateRequest, SourceNetwork, TargetHost


def check_request(request: RelocateRequest) -> None:
    """What can be refused before a task exists: the shape of the spec (row X3)."""
    if request.service is not None:
        required("spec.service.instance_uuid", request.service.instance_uuid)
        required("spec.service.ssl_thumbprint", request.service.ssl_thumbprint)
        if request.service.url:
            host_port("spec.service.url", request.service.url)
        for field, value in (("host", request.target.host), ("datastore", request.target.datastore), ("pool", request.target.pool)):
            if not value:
                raise InvalidArgument(f"spec.{field} is required when spec.service names another vCenter", argument=f"spec.{field}")
    elif not request.target.host and not request.target.datastore:
        raise InvalidArgument("give spec.host, spec.datastore or both", argument="spec.host")
    for i, change in enumerate(request.device_change):
        required(f"spec.device_change[{i}].device", change.device)
        required(f"spec.device_change[{i}].network", change.network)


def destination_for(vc: VCenterParts, arrivals: Arrivals, request: RelocateRequest) -> Destination:
    if request.service is None:
        return LocalDestination(vc, arrivals)
    if request.service.credential is not None and not names_a_linked_vcenter(vc, request.service):
        return foreign_destination(vc, request.service)
    return RemoteDestination.linked(vc, resolve_locator(vc, request.service))


def arrival_of(vc: VCenterParts, vm: Vm, *, cross: bool, device_change: tuple[NetworkChange, ...] = ()) -> Arrival:
    """The VM described for a destination: with the names of its datastores, the networks its NICs leave
    and join, and its disk files."""
    source_host = vc.state.get(vm.host, Host)
    datastores = tuple(vc.state.get(d.datastore, Datastore).name for d in vm.disks)
    networks = [vc.state.get(n.network, Network) for n in vm.nics]
    return Arrival(
        vm=with_cpu_requirement(vm, source_host), source_vcenter=vc.name if cross else "", source_host=source_host.name,
        disk_datastores=datastores,
        nic_networks=nic_networks(vm, tuple(n.name for n in networks), device_change),
        nic_sources=tuple(SourceNetwork(n.name, n.switch_type, n.switch_version) for n in networks),
        hot=vm.power_state == PowerState.POWERED_ON,
        disk_paths=tuple(vc.datastores.disk_path(ds, vm.name, d) for ds, d in zip(datastores, vm.disks, strict=True)),
    )


@dataclass(frozen=True)
class Admission:
    """A relocate that passed every check: where it goes and how."""

    vm: Vm
    source: Host
    target: MigrationTarget
    arrival: Arrival
    destination_host: TargetHost
    decision: EncryptionDecision
    remote: bool

    @property
    def streams(self) -> bool:
        """The VM crosses on a page stream: it is on, and it changes host."""
        return streams(self.arrival, self.destination_host.name)


def _too_old(vc: VCenterParts, destination: Destination) -> VCenterTooOld | None:
    """Across vCenters, the first of the two that is before encrypted cross-vCenter vMotion (row X2)."""
    if not destination.remote:
        return None
    for name, version in ((vc.name, vc.version), (destination.vcenter, destination.version)):
        if Version.parse(version) < ENCRYPTED_CROSS_VCENTER_MIN_VCENTER:
            floor = ENCRYPTED_CROSS_VCENTER_MIN_VCENTER
            return VCenterTooOld(name, version, f"{floor.major}.{floor.minor}")
    return None


def admit(vc: VCenterParts, vm: Vm, request: RelocateRequest, destination: Destination) -> Admission:
    unsettled = next((OutgoingRow.of(e) for e in vc.state.journal(OUTGOING) if e.data.get("vm") == vm.moid), None)
    if unsettled is not None:
        raise InvalidState(f"{vm.name} has a migration to {unsettled.destination_vcenter} that is not settled yet "
                           f"({unsettled.migration_id:016x}, {unsettled.phase.value}): it moves again once that one ends",
                           object=vm.moid, migration=f"{unsettled.migration_id:016x}")
    source = vc.state.get(vm.host, Host)
    if source.connection_state != HOST_CONNECTED:
        raise HostNotConnected(f"{vm.name} is on host {source.name}, which is not responding: it moves once its "
                               f"vCenter reaches the host again", object=source.moid)
    target = request.target if request.target.host else replace(request.target, host=source.moid)
    arrival = arrival_of(vc, vm, cross=destination.remote, device_change=request.device_change)
    dest_host = destination.check(arrival, target)
    if not destination.remote and dest_host.moid == source.moid and not request.target.datastore:
        raise InvalidArgument(f"{vm.name} is already on {source.name}", argument="spec.host")
    decision = decide_encryption(
        vm.migrate_encryption, vm_encrypted=vm.encrypted, powered_on=arrival.hot,
        source=HostEncryptionSupport(source.name, source.encrypted_vmotion_supported, source.version, source.aes_ni),
        destination=dest_host.support, vcenter_too_old=_too_old(vc, destination),
    )
    return Admission(vm, source, target, replace(arrival, encrypted=decision.encrypted), dest_host, decision, destination.remote)

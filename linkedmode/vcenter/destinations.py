"""Where a migration's destination side runs: this vCenter (vMotion inside it) or a linked vCenter
reached over LinkedMode (cross-vCenter vMotion, row X1). The source's orchestration sees one interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import grpc

from ..crypto.identity import Identity
from ..model.encryption import HostEncryptionSupport
from ..model.faults import HostCommunication
from ..model.inventory import Datacenter, Datastore, Host, Network, Vm
from ..model.settings import PowerState
from ..model.versions import max_concurrent_vmotions
from ..rpc.faults import fault_from_error
from ..rpc.tls import secure_channel
from ..v1 import host_agent_pb2, inventory_pb2, linked_mode_pb2, linked_mode_pb2_grpc
from . import translate
from .incoming import Arrival, MigrationTarget

if TYPE_CHECKING:
    from .peers import PeerInfo
    from .vcenter import VCenter

CALL_TIMEOUT = 30.0


@dataclass(frozen=True)
class TargetHost:
    moid: str
    name: str
    version: str
    aes_ni: bool
    encrypted_vmotion_supported: bool
    max_concurrent_vmotions: int
    datacenter: str

    @property
    def support(self) -> HostEncryptionSupport:
        return HostEncryptionSupport(self.name, self.encrypted_vmotion_supported, self.version, self.aes_ni)


class Destination(Protocol):
    vcenter: str
    remote: bool

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost: ...
    def prepare(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                spec: host_agent_pb2.MigrationSpec | None) -> str: ...
    def commit(self, migration_id: int) -> str: ...
    def finish(self, migration_id: int, restart: bool = False) -> str: ...
    def abort(self, migration_id: int, reason: str) -> None: ...
    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[str, bool]: ...


class LocalDestination:
    """The destination host is one of this vCenter's own."""

    remote = False

    def __init__(self, vc: VCenter) -> None:
        self._vc = vc
        self.vcenter = vc.name

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost:
        host, _ = self._vc.incoming.check(arrival, target)
        datacenter = self._vc.state.get(host.datacenter, Datacenter).name
        return TargetHost(host.moid, host.name, host.version, host.aes_ni, host.encrypted_vmotion_supported,
                          host.max_concurrent_vmotions, datacenter)

    def prepare(self, migration_id, arrival, target, spec) -> str:  # type: ignore[no-untyped-def]
        return self._vc.incoming.prepare(migration_id, arrival, target, spec)

    def commit(self, migration_id: int) -> str:
        return self._vc.incoming.commit(migration_id)

    def finish(self, migration_id: int, restart: bool = False) -> str:
        return self._vc.incoming.finish(migration_id, restart).moid

    def abort(self, migration_id: int, reason: str) -> None:
        self._vc.incoming.abort(migration_id, reason)

    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[str, bool]:
        return self._vc.incoming.state_of(migration_id, instance_uuid, host)


class RemoteDestination:
    """The destination host belongs to a linked vCenter: every step goes over LinkedMode (mutual TLS)."""

    remote = True

    def __init__(self, vc: VCenter, peer: PeerInfo) -> None:
        self.vcenter = peer.name
        self._peer = peer
        self._source = vc
        server = Identity(vc.domain, "vcenter", peer.name)
        self._channel = secure_channel(peer.url, vc.credential, server)
        self._stub = linked_mode_pb2_grpc.LinkedModeStub(self._channel)

    def _request(self, arrival: Arrival, target: MigrationTarget, spec: host_agent_pb2.MigrationSpec | None = None,
                 migration_id: int = 0) -> linked_mode_pb2.IncomingMigrationRequest:
        return linked_mode_pb2.IncomingMigrationRequest(
            migration_id=migration_id,
            vm=translate.vm(arrival.vm), source_vcenter=arrival.source_vcenter, source_host=arrival.source_host,
            host=target.host, datastore=target.datastore, pool=target.pool, spec=spec,
            disk_datastores=arrival.disk_datastores, nic_networks=arrival.nic_networks,
            hot=arrival.hot, encrypted=arrival.encrypted, disk_paths=arrival.disk_paths,
        )

    def _call(self, method: str, request):  # type: ignore[no-untyped-def]
        if not self._source.alive:
            raise HostCommunication(f"{self._source.name} is down: it cannot reach {self.vcenter}", object=self.vcenter)
        try:
            return getattr(self._stub, method)(request, timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            raise fault_from_error(error) from None

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost:
        answer = self._call("CheckMigration", self._request(arrival, target))
        host: inventory_pb2.HostSystem = answer.host
        return TargetHost(host.moid, host.name, host.version, host.capability.aes_ni,
                          host.capability.encrypted_vmotion_supported, host.capability.max_concurrent_vmotions or
                          max_concurrent_vmotions(host.vmotion.bandwidth), answer.datacenter)

    def prepare(self, migration_id, arrival, target, spec) -> str:  # type: ignore[no-untyped-def]
        request = self._request(arrival, target, spec, migration_id)
        try:
            return self._call("PrepareMigration", request).vmotion_address
        finally:
            request.Clear()   # drop our reference to the key as soon as it has been sent

    def commit(self, migration_id: int) -> str:
        return self._call("CommitMigration", host_agent_pb2.MigrationRef(migration_id=migration_id)).vm

    def finish(self, migration_id: int, restart: bool = False) -> str:
        return self._call("FinishMigration", linked_mode_pb2.FinishMigrationRequest(migration_id=migration_id, restart=restart)).vm

    def abort(self, migration_id: int, reason: str) -> None:
        self._call("AbortMigration", host_agent_pb2.AbortMigrationRequest(migration_id=migration_id, reason=reason))

    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[str, bool]:
        answer = self._call("GetArrivalState", linked_mode_pb2.ArrivalStateRequest(
            migration_id=migration_id, instance_uuid=instance_uuid, host=host))
        return answer.state, answer.host_runs_vm

    def close(self) -> None:
        self._channel.close()


def arrival_of(vc: VCenter, vm: Vm, *, cross: bool) -> Arrival:
    """The VM described for a destination: with the names of its datastores and networks, and its disk files."""
    source_host = vc.state.get(vm.host, Host)
    datastores = tuple(vc.state.get(d.datastore, Datastore).name for d in vm.disks)
    return Arrival(
        vm=vm, source_vcenter=vc.name if cross else "", source_host=source_host.name,
        disk_datastores=datastores,
        nic_networks=tuple(vc.state.get(n.network, Network).name for n in vm.nics),
        hot=vm.power_state == PowerState.POWERED_ON,
        disk_paths=tuple(vc.datastores.disk_path(ds, vm.name, d) for ds, d in zip(datastores, vm.disks)),
    )

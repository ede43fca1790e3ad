"""Where a migration's destination side runs: this vCenter (vMotion inside it) or another vCenter
reached over LinkedMode (cross-vCenter vMotion: a linked one, row X1, or one of another SSO domain,
row X7, see foreign.py). The source's orchestration sees one interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import grpc

from ..crypto.identity import Identity
from ..model.faults import HostCommunication, NotFound
from ..model.inventory import Datacenter, Host
from ..model.migration import MigrationPhase, MovePriority
from ..model.versions import max_concurrent_vmotions
from ..rpc.faults import fault_from_error
from ..rpc.tls import secure_channel
from ..v1 import host_agent_pb2, linked_mode_pb2, linked_mode_pb2_grpc
from ..vcenter import translate
from ..vcenter.host_client import sent, spec_to_proto
from ..vcenter.peers import PeerInfo
from .arrivals import Arrivals
from .ports import VCenterParts
from .spec import Arrival, MigrationSpec, MigrationTarget, TargetHost

R = TypeVar("R")


class Destination(Protocol):
    vcenter: str
    version: str          # the destination vCenter's
    remote: bool

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost: ...
    def reserve(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                priority: MovePriority = MovePriority.DEFAULT) -> bool: ...
    def prepare(self, migration_id: int, arrival: Arrival, target: MigrationTarget, spec: MigrationSpec | None,
                disk_keys: tuple[bytes, ...] = ()) -> str: ...
    def commit(self, migration_id: int) -> str: ...
    def finish(self, migration_id: int, restart: bool = False) -> str: ...
    def abort(self, migration_id: int, reason: str) -> None: ...
    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[MigrationPhase, bool]: ...
    def close(self) -> None: ...


def target_host(vc: VCenterParts, host: Host) -> TargetHost:
    datacenter = vc.state.get(host.datacenter, Datacenter).name
    return TargetHost(host.moid, host.name, host.version, host.aes_ni, host.encrypted_vmotion_supported,
                      host.max_concurrent_vmotions, datacenter)


class LocalDestination:
    """The destination host is one of this vCenter's own."""

    remote = False

    def __init__(self, vc: VCenterParts, arrivals: Arrivals) -> None:
        self._vc = vc
        self._arrivals = arrivals
        self.vcenter = vc.name
        self.version = vc.version

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost:
        host, _ = self._arrivals.check(arrival, target)
        return target_host(self._vc, host)

    def reserve(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                priority: MovePriority = MovePriority.DEFAULT) -> bool:
        return self._arrivals.reserve(migration_id, arrival, target, priority)

    def prepare(self, migration_id: int, arrival: Arrival, target: MigrationTarget, spec: MigrationSpec | None,
                disk_keys: tuple[bytes, ...] = ()) -> str:
        return self._arrivals.prepare(migration_id, spec, disk_keys)

    def commit(self, migration_id: int) -> str:
        return self._arrivals.commit(migration_id)

    def finish(self, migration_id: int, restart: bool = False) -> str:
        return self._arrivals.finish(migration_id, restart).moid

    def abort(self, migration_id: int, reason: str) -> None:
        self._arrivals.abort(migration_id, reason)

    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[MigrationPhase, bool]:
        return self._arrivals.state_of(migration_id, instance_uuid, host, cross=False)

    def close(self) -> None:
        pass


class RemoteDestination:
    """The destination host belongs to another vCenter: every step goes over LinkedMode. To a linked
    vCenter over mutual TLS (row X1); to one of another SSO domain over TLS pinned to its certificate,
    each call under the session of the user the ServiceLocator's credential logged in as (row X7)."""

    remote = True

    def __init__(self, vc: VCenterParts, vcenter: str, version: str, channel: grpc.Channel, *,
                 metadata: tuple[tuple[str, str], ...] = (), on_close: Callable[[], None] = lambda: None) -> None:
        self.vcenter = vcenter
        self.version = version
        self._source = vc
        self._channel = channel
        self._metadata = metadata
        self._on_close = on_close
        self._stub = linked_mode_pb2_grpc.LinkedModeStub(self._channel)

    @classmethod
    def linked(cls, vc: VCenterParts, peer: PeerInfo) -> RemoteDestination:
        return cls(vc, peer.name, peer.version, secure_channel(peer.url, vc.credential, Identity(vc.domain, "vcenter", peer.name)))

    def _request(self, arrival: Arrival, target: MigrationTarget, migration_id: int = 0,
                 spec: host_agent_pb2.MigrationSpec | None = None) -> linked_mode_pb2.IncomingMigrationRequest:
        return linked_mode_pb2.IncomingMigrationRequest(
            migration_id=migration_id,
            vm=translate.vm(arrival.vm), source_vcenter=arrival.source_vcenter, source_host=arrival.source_host,
            host=target.host, datastore=target.datastore, pool=target.pool, spec=spec,
            disk_datastores=arrival.disk_datastores, nic_networks=arrival.nic_networks,
            hot=arrival.hot, encrypted=arrival.encrypted, disk_paths=arrival.disk_paths, chain_id=arrival.chain_id,
            nic_source_networks=[translate.source_network(n) for n in arrival.nic_sources],
        )

    def _call(self, call: Callable[..., R], request: Any) -> R:
        if not self._source.alive:
            raise HostCommunication(f"{self._source.name} is down: it cannot reach {self.vcenter}", object=self.vcenter)
        try:
            return call(request, timeout=self._source.timeouts.peer_call, metadata=self._metadata)
        except grpc.RpcError as error:
            raise fault_from_error(error) from None

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost:
        answer = self._call(self._stub.CheckMigration, self._request(arrival, target))
        host = answer.host
        return TargetHost(host.moid, host.name, host.version, host.capability.aes_ni,
                          host.capability.encrypted_vmotion_supported, host.capability.max_concurrent_vmotions or
                          max_concurrent_vmotions(host.vmotion.bandwidth), answer.datacenter)

    def reserve(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                priority: MovePriority = MovePriority.DEFAULT) -> bool:
        request = self._request(arrival, target, migration_id)
        request.priority = translate.priority_to_proto(priority)
        return bool(self._call(self._stub.ReserveMigration, request).reserved)

    def prepare(self, migration_id: int, arrival: Arrival, target: MigrationTarget, spec: MigrationSpec | None,
                disk_keys: tuple[bytes, ...] = ()) -> str:
        proto = spec_to_proto(spec) if spec is not None else None
        message = self._request(arrival, target, migration_id, proto)
        message.disk_vsan_keys.extend(disk_keys if any(disk_keys) else ())
        with sent(message) as request:
            return str(self._call(self._stub.PrepareMigration, request).vmotion_address)

    def commit(self, migration_id: int) -> str:
        return str(self._call(self._stub.CommitMigration, host_agent_pb2.MigrationRef(migration_id=migration_id)).vm)

    def finish(self, migration_id: int, restart: bool = False) -> str:
        request = linked_mode_pb2.FinishMigrationRequest(migration_id=migration_id, restart=restart)
        return str(self._call(self._stub.FinishMigration, request).vm)

    def abort(self, migration_id: int, reason: str) -> None:
        self._call(self._stub.AbortMigration, host_agent_pb2.AbortMigrationRequest(migration_id=migration_id, reason=reason))

    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[MigrationPhase, bool]:
        answer = self._call(self._stub.GetArrivalState, linked_mode_pb2.ArrivalStateRequest(
            migration_id=migration_id, instance_uuid=instance_uuid, host=host))
        return translate.phase_from_proto(answer.phase), bool(answer.host_runs_vm)

    def close(self) -> None:
        try:
            self._on_close()
        finally:
            self._channel.close()


def destination_to(vc: VCenterParts, arrivals: Arrivals, vcenter: str) -> Destination:
    """The destination side in vCenter `vcenter` (this one, or a linked one by name)."""
    if vcenter == vc.name:
        return LocalDestination(vc, arrivals)
    peer = next((p for p in vc.peers() if p.name == vcenter), None)
    if peer is None:
        raise NotFound(f"{vcenter} is not linked with {vc.name} (yet)", object=vcenter)
    return RemoteDestination.linked(vc, peer)

"""The hosts of a vCenter that could take VMs, with their free memory: computed here for this vCenter,
and asked of a linked vCenter over LinkedMode (ListHostCapacity) when an evacuation goes there."""

from __future__ import annotations

import grpc

from ..crypto.identity import Identity
from ..crypto.pki import Credential
from ..migration.journal import ArrivalRow
from ..rpc.faults import fault_from_error
from ..rpc.tls import secure_channel
from ..v1 import inventory_pb2, linked_mode_pb2, linked_mode_pb2_grpc
from .peers import PeerInfo
from .placement import Candidate, DatastoreChoice, host_candidates
from .state import VCenterState


def local_candidates(state: VCenterState, arrivals: list[ArrivalRow], *, exclude: str = "") -> list[Candidate]:
    return host_candidates(state, arrivals, exclude=exclude)


def candidates_to_proto(found: list[Candidate], hosts: dict[str, inventory_pb2.HostSystem]
                        ) -> linked_mode_pb2.ListHostCapacityResponse:
    return linked_mode_pb2.ListHostCapacityResponse(hosts=[
        linked_mode_pb2.HostCapacity(
            host=hosts[c.name], free_memory_mb=c.free_memory_mb, cluster=c.cluster,
            datastores=[inventory_pb2.Datastore(name=d.name, type=d.type, capacity_mb=d.capacity_mb) for d in c.datastores])
        for c in found])


def candidates_from_proto(answer: linked_mode_pb2.ListHostCapacityResponse) -> list[Candidate]:
    return [Candidate(h.host.name, h.cluster, h.free_memory_mb,
                      tuple(DatastoreChoice(d.name, d.type, d.capacity_mb) for d in h.datastores))
            for h in answer.hosts]


def peer_candidates(credential: Credential, domain: str, peer: PeerInfo, timeout: float) -> list[Candidate]:
    """Asks linked vCenter `peer` which of its hosts could take VMs (mutual TLS, as every peer call)."""
    with secure_channel(peer.url, credential, Identity(domain, "vcenter", peer.name)) as channel:
        try:
            answer = linked_mode_pb2_grpc.LinkedModeStub(channel).ListHostCapacity(
                linked_mode_pb2.ListHostCapacityRequest(), timeout=timeout)
        except grpc.RpcError as error:
            raise fault_from_error(error) from None
    return candidates_from_proto(answer)

"""LinkedMode (the peer API between the vCenters of one SSO domain) and Emulator (administration)."""

from __future__ import annotations

from ..model.faults import InvalidArgument
from ..rpc.auth import current_principal
from ..v1 import emulator_pb2, emulator_pb2_grpc, linked_mode_pb2, linked_mode_pb2_grpc
from .vcenter import PeerInfo, VCenter


def peer_to_proto(peer: PeerInfo) -> linked_mode_pb2.PeerInfo:
    return linked_mode_pb2.PeerInfo(name=peer.name, instance_uuid=peer.instance_uuid, version=peer.version,
                                    sso_domain=peer.sso_domain, url=peer.url, thumbprint=peer.thumbprint)


class LinkedModeServicer(linked_mode_pb2_grpc.LinkedModeServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    def Hello(self, request, context):
        caller = current_principal()
        if request.name != caller.name:
            raise InvalidArgument(f"{caller} cannot introduce itself as {request.name!r}", argument="name")
        self.vc.add_peer(PeerInfo(request.name, request.instance_uuid, request.version, caller.domain, request.url, request.thumbprint))
        return peer_to_proto(self.vc.me_as_peer())

    def ListPeers(self, request, context):
        return linked_mode_pb2.ListPeersResponse(peers=[peer_to_proto(p) for p in self.vc.peers()])


class EmulatorServicer(emulator_pb2_grpc.EmulatorServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    def Reset(self, request, context):
        return emulator_pb2.ResetResponse(vms=self.vc.reset())

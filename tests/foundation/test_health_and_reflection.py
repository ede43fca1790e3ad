"""Every listener answers grpc.health.v1 and server reflection, so stock tools find their way in."""

from __future__ import annotations

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from linkedmode.crypto.identity import Identity
from linkedmode.rpc.tls import secure_channel

SERVICES = {
    "vcenter": {"linkedmode.v1.VCenter", "linkedmode.v1.LinkedMode", "linkedmode.v1.Emulator"},
    "host": {"linkedmode.v1.HostAgent"},
}
STANDARD = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}


def listeners(estate):
    for server in estate.vcenters.values():
        yield server.domain.name, "vcenter", server.name, server.address
    for server in estate.hosts.values():
        yield server.state.domain, "host", server.name, server.address


def test_health_and_reflection_answer_on_every_listener(estate):
    checked = 0
    for domain, kind, name, address in listeners(estate):
        credential = estate.credential(domain, "user", "auditor")
        with secure_channel(address, credential, Identity(domain, kind, name)) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ["", *SERVICES[kind]]:
                reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING, (name, service)
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            answers = list(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5))
            listed = {s.name for s in answers[0].list_services_response.service}
            assert listed == SERVICES[kind] | STANDARD, name
            checked += 1
    assert checked == 12   # 4 vCenters and 8 hosts


def test_reflection_answers_as_v1_too(estate):
    """Current generic clients ask grpc.reflection.v1 first; it has v1alpha's messages under another package."""
    server = estate.vcenters["vc-a"]
    credential = estate.credential("vsphere.local", "user", "auditor")
    with secure_channel(server.address, credential, Identity("vsphere.local", "vcenter", "vc-a")) as channel:
        info = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                     request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                     response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        asked = [reflection_pb2.ServerReflectionRequest(list_services=""),
                 reflection_pb2.ServerReflectionRequest(file_containing_symbol="linkedmode.v1.VCenter")]
        listed, found = list(info(iter(asked), timeout=5))
    assert "linkedmode.v1.VCenter" in {s.name for s in listed.list_services_response.service}
    assert found.file_descriptor_response.file_descriptor_proto     # the descriptor a client builds its stubs from

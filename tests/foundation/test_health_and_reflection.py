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
STANDARD = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


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

"""A gRPC server for one part: mutual TLS, the authorising interceptor, health and reflection."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..crypto.pki import Credential
from .auth import AuthorizationInterceptor, Policy
from .tls import server_credentials

# (add_XServicer_to_server, servicer instance, full service name); each add_ function takes its own servicer type
ServiceBinding = tuple[Callable[[Any, grpc.Server], None], object, str]


@dataclass
class RunningServer:
    server: grpc.Server
    address: str
    health: health.HealthServicer

    def stop(self, grace: float | None = 0.5) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def serve(
    address: str,
    credential: Credential,
    policy: Policy,
    services: Iterable[ServiceBinding],
    *,
    max_workers: int = 16,
) -> RunningServer:
    """Starts a server on `address` ("127.0.0.1:0" picks a free port) and returns where it listens."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=credential.identity.name),
        interceptors=[AuthorizationInterceptor(policy)],
        options=[("grpc.so_reuseport", 0)],
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [health.SERVICE_NAME, reflection.SERVICE_NAME]
    for add, servicer, name in services:
        add(servicer, server)
        names.append(name)
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(names, server)
    host = address.rsplit(":", 1)[0]
    port = server.add_secure_port(address, server_credentials(credential))
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    return RunningServer(server, f"{host}:{port}", health_servicer)

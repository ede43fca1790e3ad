"""One ESXi host as a running part: its state behind a HostAgent listener."""

from __future__ import annotations

from ..crypto.pki import Credential
from ..rpc.policies import HOST_AGENT, host_policy
from ..rpc.server import RunningServer, serve
from ..topology.spec import HostSpec
from ..v1 import host_agent_pb2_grpc
from ..vmotion.receiver import VMotionListener
from .migrations import HostMigrations
from .servicer import HostAgentServicer
from .state import HostState


class HostServer:
    def __init__(self, spec: HostSpec, domain: str, managed_by: str, credential: Credential) -> None:
        self.state = HostState(spec, domain, managed_by)
        self._credential = credential
        self._server: RunningServer | None = None
        self.migrations: HostMigrations | None = None

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError(f"host {self.name} is not started")
        return self._server.address

    def start(self, address: str | None = None) -> "HostServer":
        vmotion_host, _, vmotion_port = self.state.spec.vmotion.address.rpartition(":")
        listener = VMotionListener(vmotion_host.strip("[]"), int(vmotion_port))
        self.migrations = HostMigrations(self.state, listener, vmotion_host)
        self._server = serve(
            address or self.state.spec.address,
            self._credential,
            host_policy(self.state.domain, self.name, self.state.managed_by),
            [(host_agent_pb2_grpc.add_HostAgentServicer_to_server, HostAgentServicer(self.state, self.migrations), HOST_AGENT)],
            max_workers=8,
        )
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.migrations is not None:
            self.migrations.close()
            self.migrations = None
        self.state.reset()

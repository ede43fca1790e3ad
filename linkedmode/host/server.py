"""One ESXi host as a running part: its state behind a HostAgent listener."""

from __future__ import annotations

from collections.abc import Callable

from ..crypto.pki import Credential
from ..metrics.host import HostCollector
from ..metrics.server import PartMetrics
from ..model.fault_rules import FaultInjector
from ..reaper import Reaper
from ..rpc.policies import HOST_AGENT, host_policy
from ..rpc.server import RunningServer, serve
from ..topology.spec import HostSpec
from ..v1 import host_agent_pb2_grpc
from ..vmotion.handshake import VMotionLimits
from ..vmotion.receiver import VMotionListener
from .migrations import HostMigrations
from .servicer import HostAgentServicer
from .state import HostState


class HostServer:
    def __init__(self, spec: HostSpec, domain: str, managed_by: str, credential: Credential, *,
                 kill: Callable[[], None] | None = None) -> None:
        """`kill`: what a "kill" fault rule does; by default the host's listeners die, its VMs with them."""
        self.state = HostState(spec, domain, managed_by)
        self.state.faults = FaultInjector(spec.name, kill=kill or self.crash)
        self._credential = credential
        self._server: RunningServer | None = None
        self.migrations: HostMigrations | None = None
        self.reaper: Reaper | None = None
        self.metrics: PartMetrics | None = None

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError(f"host {self.name} is not started")
        return self._server.address

    def start(self, address: str | None = None, *, vmotion_listen_host: str | None = None) -> HostServer:
        """Listens at `address` (default: the topology's) and for vMotion on the topology's vMotion
        address, or on `vmotion_listen_host` at its port while still telling sources the topology's."""
        vmotion_host, _, vmotion_port = self.state.spec.vmotion.address.rpartition(":")
        limits = self.state.spec.limits
        listener = VMotionListener((vmotion_listen_host or vmotion_host).strip("[]"), int(vmotion_port), limits=VMotionLimits(
            limits.vmotion_unauthenticated_connections, limits.vmotion_connections_per_source,
            limits.vmotion_hello_seconds))
        self.reaper = Reaper(self.name)
        self.migrations = HostMigrations(self.state, listener, vmotion_host, self.reaper)
        metrics = PartMetrics(self.name)
        metrics.add(HostCollector(self.state, lambda: self.migrations))
        self._server = serve(
            address or self.state.spec.address,
            self._credential,
            host_policy(self.state.domain, self.name, self.state.managed_by),
            [(host_agent_pb2_grpc.add_HostAgentServicer_to_server, HostAgentServicer(self.state, self.migrations), HOST_AGENT)],
            limits=self.state.spec.limits,
            layers=[metrics.layer],
        )
        metrics.serve(self.state.spec.metrics_address)
        self.metrics = metrics
        return self

    @property
    def metrics_url(self) -> str:
        return self.metrics.url if self.metrics is not None else ""

    def _stop_metrics(self) -> None:
        metrics, self.metrics = self.metrics, None
        if metrics is not None:
            metrics.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def crash(self) -> None:
        """Dies as a killed process would: listeners gone at once, running VMs and migrations lost."""
        server, self._server = self._server, None
        if server is not None:
            server.server.stop(0)
        self._stop_metrics()
        if self.migrations is not None:
            self.migrations.close()
        self._stop_reaper()
        self.state.reset()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._stop_metrics()
        if self.migrations is not None:
            self.migrations.close()
            self.migrations = None
        self._stop_reaper()
        self.state.reset()

    def _stop_reaper(self) -> None:
        if self.reaper is not None:
            self.reaper.stop()

"""One vCenter as a running part: VCenter, LinkedMode and Emulator behind one mutual-TLS listener, and
a login listener (server-only TLS) where users of its SSO domain log in with a password: SessionManager,
VCenter by role, and the LinkedMode calls that move a VM here from another SSO domain (row X7)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import grpc

from ..crypto.identity import Identity
from ..crypto.pki import Credential
from ..kms.providers import KeyProviders
from ..metrics.server import PartMetrics
from ..metrics.vcenter import VCenterCollector
from ..migration.journal import OUTGOING
from ..migration.settle import Settled
from ..model.fault_rules import FaultInjector
from ..model.faults import Fault
from ..reaper import Scheduled
from ..rpc.faults import fault_from_error
from ..rpc.login import SESSION_MANAGER, password_authenticator
from ..rpc.policies import EMULATOR, LINKED_MODE, VCENTER, login_policy, vcenter_policy
from ..rpc.server import RunningServer, serve
from ..rpc.tls import secure_channel
from ..topology.spec import SsoDomainSpec, VCenterSpec, is_native_key_provider
from ..v1 import emulator_pb2_grpc, linked_mode_pb2_grpc, session_pb2_grpc, vcenter_pb2_grpc
from .datastores import DatastoreFolders
from .peer_servicers import EmulatorServicer, LinkedModeServicer, peer_to_proto
from .peers import PeerInfo
from .servicer import VCenterServicer
from .session_servicer import SessionManagerServicer
from .sessions import Sessions
from .store import InventoryStore
from .vcenter import VCenter

log = logging.getLogger(__name__)



class VCenterServer:
    def __init__(self, spec: VCenterSpec, domain: SsoDomainSpec, credential: Credential, *,
                 database: str = ":memory:", host_addresses: dict[str, str] | None = None,
                 datastores_dir: str | Path | None = None, keys: KeyProviders | None = None) -> None:
        """`datastores_dir`: where this vCenter's datastore folders are (a temporary folder if not given);
        `keys`: its key providers (else only its Native Key Providers, sealed in that temporary folder)."""
        self.domain = domain
        self._temp = tempfile.TemporaryDirectory(prefix=f"linkedmode-{spec.name}-") if datastores_dir is None else None
        folders = DatastoreFolders(Path(self._temp.name if self._temp else datastores_dir))  # type: ignore[arg-type]  # given whenever there is no temporary folder
        self._keys_temp = tempfile.TemporaryDirectory(prefix=f"linkedmode-{spec.name}-keys-") if keys is None else None
        if self._keys_temp is not None:
            keys = KeyProviders(spec.name, Path(self._keys_temp.name),
                                native=tuple(p for p in spec.key_providers if is_native_key_provider(p)))
        assert keys is not None
        self.vcenter = VCenter(spec, domain.name, credential, InventoryStore(database), host_addresses or {}, folders, keys)
        self.vcenter.faults = FaultInjector(spec.name, kill=self.crash)
        self.sessions = Sessions(spec.name, domain.name, domain.users, idle_seconds=spec.timeouts.session_idle)
        self._server: RunningServer | None = None
        self._login: RunningServer | None = None
        self._settler: Scheduled | None = None
        self.metrics: PartMetrics | None = None

    @property
    def name(self) -> str:
        return self.vcenter.name

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError(f"vCenter {self.name} is not started")
        return self._server.address

    def start(self, address: str | None = None) -> VCenterServer:
        vc = self.vcenter
        roles = {u.name: u.role for u in self.domain.users}
        metrics = PartMetrics(vc.name)
        metrics.add(VCenterCollector(vc.state, vc.slots, vc.arrivals.pending))
        self._server = serve(
            address or vc.spec.address,
            vc.credential,
            vcenter_policy(self.domain.name, vc.name, roles),
            [
                (vcenter_pb2_grpc.add_VCenterServicer_to_server, VCenterServicer(vc), VCENTER),
                (linked_mode_pb2_grpc.add_LinkedModeServicer_to_server, LinkedModeServicer(vc), LINKED_MODE),
                (emulator_pb2_grpc.add_EmulatorServicer_to_server, EmulatorServicer(vc), EMULATOR),
            ],
            limits=vc.spec.limits,
            layers=[metrics.layer],
        )
        vc.url = self._server.address
        if any(u.password_hash for u in self.domain.users):   # no password, no login listener
            try:
                self._login = self._serve_login(vc, roles, vc.spec.login_address or vc.url.rsplit(":", 1)[0] + ":0")
            except BaseException:
                self._server.stop(0)
                self._server = None
                raise
            vc.login_url = self._login.address
        vc.metrics_url = metrics.serve(vc.spec.metrics_address)
        self.metrics = metrics
        vc.connect_hosts()
        vc.performance.start(vc.reaper)
        return self

    def _serve_login(self, vc: VCenter, roles: dict[str, str], address: str) -> RunningServer:
        """The login listener: server-only TLS, callers known by password, then by session."""
        return serve(
            address,
            vc.credential,
            login_policy(self.domain.name, vc.name, roles),
            [
                (session_pb2_grpc.add_SessionManagerServicer_to_server, SessionManagerServicer(self.sessions, vc.name),
                 SESSION_MANAGER),
                (vcenter_pb2_grpc.add_VCenterServicer_to_server, VCenterServicer(vc), VCENTER),
                (linked_mode_pb2_grpc.add_LinkedModeServicer_to_server, LinkedModeServicer(vc), LINKED_MODE),
            ],
            limits=vc.spec.limits,
            authenticate=password_authenticator(self.sessions),
        )

    def link(self, peers: dict[str, str]) -> list[str]:
        """Says hello to each peer vCenter (name -> address) of the SSO domain; returns who answered."""
        answered = []
        for name, address in peers.items():
            if name == self.name:
                continue
            server = Identity(self.domain.name, "vcenter", name)
            with secure_channel(address, self.vcenter.credential, server) as channel:
                try:
                    hello = peer_to_proto(self.vcenter.me_as_peer())
                    reply = linked_mode_pb2_grpc.LinkedModeStub(channel).Hello(hello, timeout=self.vcenter.timeouts.peer_hello)
                except grpc.RpcError as error:
                    fault: Fault = fault_from_error(error)
                    log.warning("%s could not link with %s: %s", self.name, name, fault)
                    continue
            self.vcenter.add_peer(PeerInfo(reply.name, reply.instance_uuid, reply.version, reply.sso_domain, reply.url, reply.thumbprint))
            answered.append(name)
        return answered

    def recover(self) -> dict[str, Settled]:
        """Settles what the journal says was in flight (see migration/settle.py), then, on the vCenter's
        reaper every `timeouts.settle_interval`, what could not be settled yet (a peer or host that was down)."""
        settled = self.vcenter.migrations.recover()
        if self._settler is None:
            self._settler = self.vcenter.reaper.every(self.vcenter.timeouts.settle_interval, self._settle_later,
                                                      name="settle the journal")
        return settled

    def _settle_later(self) -> None:
        vc = self.vcenter
        if vc.alive and vc.state.journal(OUTGOING):
            vc.migrations.settle_unsettled("settled once every side answered again")

    @property
    def running(self) -> bool:
        return self._server is not None

    def crash(self) -> None:
        """Dies as a killed process would: the listener gone at once; what SQLite holds survives."""
        server, self._server = self._server, None
        login, self._login = self._login, None
        for listener in (server, login):
            if listener is not None:
                listener.server.stop(0)
        self._stop_metrics()
        self.vcenter.kill()

    def _stop_metrics(self) -> None:
        metrics, self.metrics = self.metrics, None
        if metrics is not None:
            metrics.stop()

    def stop(self) -> None:
        for listener in (self._server, self._login):
            if listener is not None:
                listener.stop()
        self._server = self._login = None
        self._stop_metrics()
        if self.vcenter.alive:
            self.vcenter.close()
        else:
            self.vcenter.tasks.shutdown()
        if self._temp is not None:
            self._temp.cleanup()
        if self._keys_temp is not None:
            self._keys_temp.cleanup()

"""One vCenter as a running part: VCenter, LinkedMode and Emulator behind one mutual-TLS listener."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import grpc

from ..crypto.identity import Identity
from ..crypto.pki import Credential
from ..kms.providers import KeyProviders
from ..migration.journal import OUTGOING
from ..migration.settle import Settled
from ..model.fault_rules import FaultInjector
from ..model.faults import Fault
from ..reaper import Scheduled
from ..rpc.faults import fault_from_error
from ..rpc.policies import EMULATOR, LINKED_MODE, VCENTER, vcenter_policy
from ..rpc.server import RunningServer, serve
from ..rpc.tls import secure_channel
from ..topology.spec import SsoDomainSpec, VCenterSpec, is_native_key_provider
from ..v1 import emulator_pb2_grpc, linked_mode_pb2_grpc, vcenter_pb2_grpc
from .datastores import DatastoreFolders
from .peer_servicers import EmulatorServicer, LinkedModeServicer, peer_to_proto
from .peers import PeerInfo
from .servicer import VCenterServicer
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
        folders = DatastoreFolders(Path(self._temp.name if self._temp else datastores_dir))  # type: ignore[arg-type]
        self._keys_temp = tempfile.TemporaryDirectory(prefix=f"linkedmode-{spec.name}-keys-") if keys is None else None
        if self._keys_temp is not None:
            keys = KeyProviders(spec.name, Path(self._keys_temp.name),
                                native=tuple(p for p in spec.key_providers if is_native_key_provider(p)))
        assert keys is not None
        self.vcenter = VCenter(spec, domain.name, credential, InventoryStore(database), host_addresses or {}, folders, keys)
        self.vcenter.faults = FaultInjector(spec.name, kill=self.crash)
        self._server: RunningServer | None = None
        self._settler: Scheduled | None = None

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
        )
        vc.url = self._server.address
        vc.connect_hosts()
        return self

    def link(self, peers: dict[str, str]) -> list[str]:
        """Says hello to each peer vCenter (name -> address) of the SSO domain; returns who answered."""
        answered = []
        for name, address in peers.items():
            if name == self.name:
                continue
            server = Identity(self.domain.name, "vcenter", name)
            with secure_channel(address, self.vcenter.credential, server) as channel:
                try:
                    reply = linked_mode_pb2_grpc.LinkedModeStub(channel).Hello(peer_to_proto(self.vcenter.me_as_peer()), timeout=5)
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
        if server is not None:
            server.server.stop(0)
        self.vcenter.kill()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.vcenter.alive:
            self.vcenter.close()
        else:
            self.vcenter.tasks.shutdown()
        if self._temp is not None:
            self._temp.cleanup()
        if self._keys_temp is not None:
            self._keys_temp.cleanup()

"""An estate: every part of a topology started in this process, each behind its own listener.

Parts talk to each other only over gRPC, so the same topology can later be spread over processes.
Its state directory is owner-only (folders 0700, files 0600): `pki/` (what parts and clients read),
`ca/` (the CA keys, unless kept elsewhere), `vcenters/<name>.db`, `datastores/<vcenter>/<datastore>/`,
`key-providers/<vcenter>/` (its sealed Native Key Providers), `kms/<name>/` (each KMS process's
credential and database) and `endpoints.json`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .crypto.domain_pki import CA_FOLDER, Pki, ensure_pki
from .crypto.files import private_file, private_folder, write_private
from .crypto.identity import Identity
from .crypto.pki import Credential, credential_paths
from .host.server import HostServer
from .kms.kmip import KmipKeyServer
from .kms.process import KmsProcess
from .kms.providers import KeyProviders
from .topology.spec import Topology, VCenterSpec, is_native_key_provider
from .vcenter.datastores import DatastoreFolders
from .vcenter.server import VCenterServer

log = logging.getLogger(__name__)

ENDPOINTS_FILE = "endpoints.json"


@dataclass
class Estate:
    topology: Topology
    state_dir: Path
    persistent: bool
    hosts: dict[str, HostServer] = field(default_factory=dict)
    vcenters: dict[str, VCenterServer] = field(default_factory=dict)
    kms: dict[str, KmsProcess] = field(default_factory=dict)
    _temp: tempfile.TemporaryDirectory[str] | None = None
    ca_dir: Path | None = None     # where the CA keys are; None: `ca/` in the state directory

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def ca_root(self) -> Path:
        return self.ca_dir if self.ca_dir is not None else self.state_dir / CA_FOLDER

    def credential(self, domain: str, kind: str, name: str) -> Credential:
        return Pki(self.pki_dir).credential(Identity(domain, kind, name))

    def endpoints(self) -> dict[str, Any]:
        """Where each part listens: what clients (and `linkedmode` client commands) need. No secrets."""
        def vcenter(name: str) -> dict[str, str]:
            vc = self.vcenters[name].vcenter
            return {"address": self.vcenters[name].address, "login_address": vc.login_url,
                    "instance_uuid": vc.instance_uuid, "metrics": vc.metrics_url}

        return endpoints_document(self.topology, self.pki_dir, vcenter,
                                  lambda name: {"address": self.hosts[name].address, "metrics": self.hosts[name].metrics_url})

    def vcenter_server(self, name: str) -> VCenterServer:
        """A server for vCenter `name` of the topology, on its database (not started)."""
        spec = next(vc for _, vc in self.topology.vcenters() if vc.name == name)
        return vcenter_server(self.topology, self.state_dir, name, {h.name: self.hosts[h.name].address for h in spec.hosts()},
                              persistent=self.persistent, kms_addresses={n: p.address for n, p in self.kms.items()})

    def peer_addresses(self, domain: str) -> dict[str, str]:
        return {name: s.address for name, s in self.vcenters.items() if s.domain.name == domain and s.running}

    def restart_vcenter(self, name: str) -> VCenterServer:
        """Stops vCenter `name` (if it still runs) and starts it again on its database: it relinks with
        its peers and settles the migrations its journal says were in flight."""
        old = self.vcenters[name]
        old.stop()
        server = self.vcenter_server(name).start()
        self.vcenters[name] = server
        server.link(self.peer_addresses(server.domain.name))
        server.recover()
        return server

    def restart_host(self, name: str) -> HostServer:
        """Starts host `name` again (after it was killed): empty, as a rebooted ESXi is. Its vCenter
        reconnects and powers on again the VMs its inventory places there (what vSphere HA does)."""
        old = self.hosts[name]
        old.stop()
        domain, vc = next((d, v) for d, v in self.topology.vcenters() if any(h.name == name for h in v.hosts()))
        spec = next(h for h in vc.hosts() if h.name == name)
        self.hosts[name] = HostServer(spec, domain.name, vc.name, self.credential(domain.name, "host", name)).start()
        vcenter = self.vcenters[vc.name]
        if vcenter.running:
            vcenter.vcenter.host_moved(name, self.hosts[name].address)
        return self.hosts[name]

    def stop(self) -> None:
        """Stops the vCenters, then the hosts; each group at once (a stop waits out in-flight calls)."""
        for group in (list(self.vcenters.values()), list(self.hosts.values())):
            if group:
                with ThreadPoolExecutor(max_workers=len(group)) as pool:
                    list(pool.map(lambda part: part.stop(), group))
        for kms in self.kms.values():
            kms.stop()
        if self.persistent:
            (self.state_dir / ENDPOINTS_FILE).unlink(missing_ok=True)
        if self._temp is not None:
            self._temp.cleanup()

    def __enter__(self) -> Estate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_kms(topology: Topology, state_dir: Path) -> dict[str, KmsProcess]:
    """Starts a process for each KMS of the topology, all at once, and returns them at once: each one's
    `wait_ready` waits until it listens (meanwhile the other parts start). On a failure, none is left."""
    pki = Pki(state_dir / "pki")
    started: dict[str, KmsProcess] = {}
    try:
        for kms in topology.kms_servers():
            trusted = [(state_dir / "pki" / d / "ca.pem").read_bytes() for d in kms.client_domains]
            started[kms.name] = KmsProcess(kms.name, pki.credential(Identity(kms.domain, "kms", kms.name)), trusted,
                                           state_dir / "kms" / kms.name).launch()
    except BaseException:
        for process in started.values():
            process.stop()
        raise
    return started


def endpoints_document(topology: Topology, pki_dir: Path, vcenter: Callable[[str], dict[str, str]],
                       host: Callable[[str], dict[str, str]]) -> dict[str, Any]:
    """The endpoints file (`endpoints.json`): each domain's users and roles, and for each vCenter and
    host where it listens, as `vcenter(name)` and `host(name)` say (address, login address, instance
    UUID, metrics)."""
    domains = []
    for domain in topology.sso_domains:
        vcenters = []
        for vc in domain.vcenters:
            found = vcenter(vc.name)
            hosts = {h.name: host(h.name) for h in vc.hosts()}
            vcenters.append({
                "name": vc.name, "version": str(vc.version), "address": found["address"],
                "login_address": found.get("login_address", ""), "instance_uuid": found["instance_uuid"],
                "hosts": {name: h["address"] for name, h in hosts.items()}, "metrics": found.get("metrics", ""),
                "host_metrics": {name: h.get("metrics", "") for name, h in hosts.items()},
            })
        domains.append({"name": domain.name, "users": {u.name: u.role for u in domain.users}, "vcenters": vcenters})
    return {"pki": str(pki_dir), "sso_domains": domains}


def vcenter_database(state_dir: Path, name: str) -> Path:
    return state_dir / "vcenters" / f"{name}.db"


def vcenter_server(topology: Topology, state_dir: Path, name: str, host_addresses: dict[str, str], *,
                   persistent: bool = True, kms_addresses: dict[str, str] | None = None) -> VCenterServer:
    """A server for vCenter `name` of the topology (not started): its inventory in
    `state_dir/vcenters/<name>.db` (in memory unless persistent), its datastores under
    `state_dir/datastores/<name>/`, its hosts dialled at `host_addresses`, the KMS of each of its
    Standard Key Providers at `kms_addresses` (name -> address)."""
    domain, spec = next((d, vc) for d, vc in topology.vcenters() if vc.name == name)
    database = ":memory:"
    if persistent:
        # SQLite gives its -wal and -shm files the mode of the database file
        private_folder(state_dir / "vcenters")
        database = str(private_file(vcenter_database(state_dir, name)))
    datastores = private_folder(state_dir / "datastores" / name)
    for datacenter in spec.datacenters:
        for datastore in datacenter.datastores:
            private_folder(DatastoreFolders(datastores).folder(datastore.name))
    credential = Pki(state_dir / "pki").credential(Identity(domain.name, "vcenter", name))
    return VCenterServer(spec, domain, credential, database=database, host_addresses=host_addresses,
                         datastores_dir=datastores, keys=key_providers(topology, state_dir, domain.name, spec, kms_addresses or {}))


def key_providers(topology: Topology, state_dir: Path, domain: str, spec: VCenterSpec, kms_addresses: dict[str, str]) -> KeyProviders:
    """vCenter `spec`'s key providers: its Native ones sealed in its folder, its Standard ones the KMS
    processes at `kms_addresses`, reached with the vCenter's own certificate."""
    pki_dir = state_dir / "pki"
    certificate, key, own_ca = credential_paths(pki_dir, Identity(domain, "vcenter", spec.name))
    homes = {k.name: k.domain for k in topology.kms_servers()}
    standard = {name: KmipKeyServer(name, kms_addresses[name], certificate, key, Identity(homes[name], "kms", name),
                                    pki_dir / homes[name] / "ca.pem")
                for name in spec.key_providers if name in kms_addresses}
    return KeyProviders(spec.name, private_folder(state_dir / "key-providers" / spec.name),
                        native=tuple(p for p in spec.key_providers if is_native_key_provider(p)), standard=standard,
                        order=spec.key_providers, kms_client=lambda name, address: KmipKeyServer(
                            name, address, certificate, key, Identity(domain, "kms", name), own_ca))


def start_estate(topology: Topology, state_dir: Path | None = None, *, ca_dir: Path | None = None) -> Estate:
    """Starts every host, then every vCenter, then links the vCenters of each SSO domain.

    With a state directory, inventories are SQLite files there and survive a restart; without one,
    everything lives in a temporary directory and in memory and is gone at stop. `ca_dir` keeps the
    CA keys somewhere else than the state directory's `ca/`.
    """
    temp = None
    if state_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="linkedmode-")
        state_dir = Path(temp.name)
    state_dir = private_folder(Path(state_dir))
    estate = Estate(topology, state_dir, persistent=temp is None, _temp=temp, ca_dir=ca_dir)
    try:
        ensure_pki(estate.pki_dir, topology, ca_root=estate.ca_root)
        estate.kms = launch_kms(topology, state_dir)
        for domain in topology.sso_domains:
            for vc in domain.vcenters:
                for host in vc.hosts():
                    server = HostServer(host, domain.name, vc.name, estate.credential(domain.name, "host", host.name))
                    estate.hosts[host.name] = server.start()
        for process in estate.kms.values():
            process.wait_ready()
        for domain in topology.sso_domains:
            for vc in domain.vcenters:
                estate.vcenters[vc.name] = estate.vcenter_server(vc.name).start()
        for domain in topology.sso_domains:
            for vc in domain.vcenters:
                estate.vcenters[vc.name].link(estate.peer_addresses(domain.name))
        for vcenter in estate.vcenters.values():
            vcenter.recover()
            vcenter.vcenter.install_topology_fault_rules()
        if estate.persistent:
            write_private(state_dir / ENDPOINTS_FILE, json.dumps(estate.endpoints(), indent=2).encode())
    except BaseException:
        estate.stop()
        raise
    return estate

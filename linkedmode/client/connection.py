"""Connecting to a vCenter as a client: which address, which certificate, which stubs.

Any other client needs only the .proto files, the PKI's CA certificate and a user certificate (see
the README).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from ..crypto.identity import Identity, identity_of_certificate
from ..crypto.pki import Credential, load_credential
from ..estate import ENDPOINTS_FILE
from ..model.faults import InvalidArgument, NotFound
from ..rpc.tls import secure_channel
from ..v1 import emulator_pb2_grpc, linked_mode_pb2_grpc, vcenter_pb2_grpc


class NotRunning(Exception):
    """No estate answers from this state directory."""


@dataclass
class VCenterClient:
    name: str
    address: str
    channel: grpc.Channel

    @property
    def api(self) -> vcenter_pb2_grpc.VCenterStub:
        return vcenter_pb2_grpc.VCenterStub(self.channel)

    @property
    def linked_mode(self) -> linked_mode_pb2_grpc.LinkedModeStub:
        return linked_mode_pb2_grpc.LinkedModeStub(self.channel)

    @property
    def emulator(self) -> emulator_pb2_grpc.EmulatorStub:
        return emulator_pb2_grpc.EmulatorStub(self.channel)

    def close(self) -> None:
        self.channel.close()


def connect_vcenter(address: str, credential: Credential, vcenter: str, *, domain: str | None = None,
                    trust: bytes | None = None) -> VCenterClient:
    """A client of vCenter `vcenter` of SSO domain `domain` (default: the credential's own)."""
    server = Identity(domain or credential.identity.domain, "vcenter", vcenter)
    return VCenterClient(vcenter, address, secure_channel(address, credential, server, trust=trust))


def connect_host(address: str, credential: Credential, host: str, *, domain: str | None = None,
                 trust: bytes | None = None) -> grpc.Channel:
    """A channel to host `host`'s HostAgent listener; wrap it in HostAgentStub."""
    server = Identity(domain or credential.identity.domain, "host", host)
    return secure_channel(address, credential, server, trust=trust)


def credential_from_files(certificate: str | Path, key: str | Path, ca: str | Path) -> Credential:
    """A user's credential from PEM files: its certificate (which names the user), its key, the CA."""
    cert_pem = Path(certificate).read_bytes()
    identity = identity_of_certificate(cert_pem)
    if identity is None:
        raise InvalidArgument(f"{certificate} names no linkedmode identity (no spiffe:// SAN URI)", argument="certificate")
    return Credential(identity, cert_pem, Path(key).read_bytes(), Path(ca).read_bytes())


class Endpoints:
    """What `linkedmode up` wrote in its state directory: where each part listens, where the PKI is."""

    def __init__(self, state_dir: Path) -> None:
        path = Path(state_dir) / ENDPOINTS_FILE
        if not path.exists():
            raise NotRunning(f"no running estate in {state_dir} (start one with: linkedmode up --state-dir {state_dir})")
        self.data = json.loads(path.read_text())
        self.pki = Path(self.data["pki"])

    def domain(self, name: str) -> dict[str, Any]:
        for d in self.data["sso_domains"]:
            if d["name"] == name:
                found: dict[str, Any] = d
                return found
        known = ", ".join(d["name"] for d in self.data["sso_domains"])
        raise NotFound(f"no SSO domain {name!r} in this estate (it has {known})", object=name)

    def vcenters(self, domain: str) -> list[dict[str, Any]]:
        vcenters: list[dict[str, Any]] = self.domain(domain)["vcenters"]
        return vcenters

    def user(self, domain: str, user: str) -> Credential:
        if user not in self.domain(domain)["users"]:
            raise NotFound(f"no user {user!r} in {domain} (it has {', '.join(self.domain(domain)['users'])})", object=user)
        return load_credential(self.pki, Identity(domain, "user", user))

    def connect(self, domain: str, user: str, vcenter: str) -> VCenterClient:
        for vc in self.vcenters(domain):
            if vc["name"] == vcenter:
                return connect_vcenter(vc["address"], self.user(domain, user), vcenter)
        known = ", ".join(vc["name"] for vc in self.vcenters(domain))
        raise NotFound(f"no vCenter {vcenter!r} in {domain} (it has {known})", object=vcenter)

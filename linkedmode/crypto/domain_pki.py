"""Making and finding the certificates of every part and user in a topology."""

from __future__ import annotations

from pathlib import Path

from ..topology.spec import Topology
from .identity import Identity
from .pki import CertificateAuthority, Credential, credential_paths, load_credential, save_credential


def identities(topology: Topology) -> list[Identity]:
    found: list[Identity] = []
    for domain in topology.sso_domains:
        found += [Identity(domain.name, "user", u.name) for u in domain.users]
        for vc in domain.vcenters:
            found.append(Identity(domain.name, "vcenter", vc.name))
            found += [Identity(domain.name, "host", h.name) for h in vc.hosts()]
    return found


def ensure_pki(root: Path, topology: Topology) -> list[Identity]:
    """Makes what is missing under root: a CA per SSO domain, a leaf per identity. Returns what it made."""
    root = Path(root)
    made: list[Identity] = []
    authorities: dict[str, CertificateAuthority] = {}
    for domain in topology.sso_domains:
        if (root / domain.name / "ca.pem").exists():
            authorities[domain.name] = CertificateAuthority.load(root, domain.name)
        else:
            authorities[domain.name] = CertificateAuthority.create(domain.name)
            authorities[domain.name].save(root)
    for identity in identities(topology):
        cert, key, _ = credential_paths(root, identity)
        if not (cert.exists() and key.exists()):
            save_credential(root, authorities[identity.domain].issue(identity))
            made.append(identity)
    return made


class Pki:
    """Credentials of a topology's identities, read from a PKI root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def credential(self, identity: Identity) -> Credential:
        return load_credential(self.root, identity)

    def authority(self, domain: str) -> CertificateAuthority:
        return CertificateAuthority.load(self.root, domain)

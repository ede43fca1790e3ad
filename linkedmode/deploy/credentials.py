"""The credentials a rendering needs: each part's (for its Secret) and each user's (for the clients, on disk).

The CA of each SSO domain is read from a CA root, or made there when it has none; its key signs the
leaves and goes nowhere else. Parts' certificates are issued afresh at each rendering and name the
part's DNS names in the cluster; users' are made once and kept in a PKI root beside the manifests.
"""

from __future__ import annotations

from pathlib import Path

from ..crypto.files import private_folder
from ..crypto.identity import Identity
from ..crypto.pki import CertificateAuthority, Credential, ca_paths, credential_paths, save_credential, save_trust_anchor
from ..topology.spec import Topology
from .parts import ClusterNames, Part


def load_or_create_ca(ca_root: Path, domain: str) -> CertificateAuthority:
    cert, key = ca_paths(ca_root, domain)
    if cert.exists() and key.exists():
        return CertificateAuthority.load(ca_root, domain)
    authority = CertificateAuthority.create(domain)
    authority.save(private_folder(ca_root))
    return authority


class DeployAuthorities:
    """The CAs of a topology's SSO domains, loaded or made under `ca_root`."""

    def __init__(self, topology: Topology, ca_root: Path) -> None:
        self._authorities = {domain.name: load_or_create_ca(ca_root, domain.name) for domain in topology.sso_domains}

    def ca_certificate(self, domain: str) -> bytes:
        return self._authorities[domain].cert_pem

    def part_credential(self, part: Part, names: ClusterNames) -> Credential:
        return self._authorities[part.domain].issue(part.identity, extra_dns_names=names.dns_names(part))

    def save_users(self, topology: Topology, pki_root: Path) -> list[Identity]:
        """Each domain's CA certificate and each user's credential under `pki_root`, the latter made where
        missing or left by another CA. Returns the users whose credential it made."""
        private_folder(pki_root)
        made = []
        for domain in topology.sso_domains:
            authority = self._authorities[domain.name]
            anchor = Path(pki_root) / domain.name / "ca.pem"
            same_ca = anchor.exists() and anchor.read_bytes() == authority.cert_pem
            save_trust_anchor(pki_root, domain.name, authority.cert_pem)
            for user in domain.users:
                identity = Identity(domain.name, "user", user.name)
                cert, key, _ = credential_paths(pki_root, identity)
                if same_ca and cert.exists() and key.exists():
                    continue
                save_credential(pki_root, authority.issue(identity))
                made.append(identity)
        return made

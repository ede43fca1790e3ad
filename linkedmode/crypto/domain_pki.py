"""Making and finding the certificates of every part and user in a topology.

The CA of each SSO domain lives under a CA root of its own (`<state dir>/ca` beside `<state dir>/pki`
by default); the PKI root holds only the CA certificate and each identity's credential.
"""

from __future__ import annotations

from pathlib import Path

from ..topology.addresses import part_names
from ..topology.spec import Topology
from .files import private_folder
from .identity import Identity
from .pki import (
    CertificateAuthority,
    Credential,
    ca_paths,
    credential_paths,
    load_credential,
    names_missing,
    save_credential,
    save_trust_anchor,
)

CA_FOLDER = "ca"


def default_ca_root(pki_root: Path) -> Path:
    """Where the CAs are when nobody says: a `ca` folder beside the PKI root."""
    return Path(pki_root).resolve().parent / CA_FOLDER


def identities(topology: Topology) -> list[Identity]:
    found: list[Identity] = []
    for domain in topology.sso_domains:
        found += [Identity(domain.name, "user", u.name) for u in domain.users]
        for vc in domain.vcenters:
            found.append(Identity(domain.name, "vcenter", vc.name))
            found += [Identity(domain.name, "host", h.name) for h in vc.hosts()]
    found += [Identity(kms.domain, "kms", kms.name) for kms in topology.kms_servers()]
    return found


def ensure_pki(root: Path, topology: Topology, *, ca_root: Path | None = None) -> list[Identity]:
    """Makes what is missing: a CA per SSO domain under `ca_root`, its certificate and a leaf per identity
    under `root`, whose SANs carry the names and IPs the topology gives the part (its management and
    vMotion addresses). A leaf that lacks some of them is made again when the CA key is there. A CA key
    left in the PKI root by an older layout moves to `ca_root`. Returns what it made."""
    root = private_folder(Path(root))
    ca_root = private_folder(Path(ca_root) if ca_root is not None else default_ca_root(root))
    made: list[Identity] = []
    authorities: dict[str, CertificateAuthority] = {}
    for domain in topology.sso_domains:
        _move_old_ca_key(root, ca_root, domain.name)
        cert, key = ca_paths(ca_root, domain.name)
        if cert.exists() and key.exists():
            authority = CertificateAuthority.load(ca_root, domain.name)
        elif (root / domain.name / "ca.pem").exists():
            authority = None   # a PKI without its CA: enough while no credential is missing
        else:
            authority = CertificateAuthority.create(domain.name)
            authority.save(ca_root)
        if authority is not None:
            save_trust_anchor(root, domain.name, authority.cert_pem)
            authorities[domain.name] = authority
    names = part_names(topology)
    for identity in identities(topology):
        cert, key, _ = credential_paths(root, identity)
        wanted = names.get((identity.kind, identity.name), ())
        authority = authorities.get(identity.domain)
        if cert.exists() and key.exists():
            if authority is None or not names_missing(cert.read_bytes(), wanted):
                continue
        elif authority is None:
            raise FileNotFoundError(f"no certificate for {identity} under {root}, and no CA key of "
                                    f"{identity.domain} under {ca_root} to make one")
        save_credential(root, authority.issue(identity, names=wanted))
        made.append(identity)
    return made


def _move_old_ca_key(root: Path, ca_root: Path, domain: str) -> None:
    old_key = root / domain / "ca.key"
    if not old_key.exists():
        return
    _, key = ca_paths(ca_root, domain)
    if not key.exists():
        CertificateAuthority(domain, (root / domain / "ca.pem").read_bytes(), old_key.read_bytes()).save(ca_root)
    old_key.unlink()


class Pki:
    """Credentials of a topology's identities, read from a PKI root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def credential(self, identity: Identity) -> Credential:
        return load_credential(self.root, identity)

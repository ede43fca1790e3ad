"""The PKI of an SSO domain: one root CA (the VMCA role) and a leaf certificate per part and user.

Keys are ECDSA P-256: fast to make and to handshake. On disk, in two roots kept apart (in a state
directory, `pki/` and `ca/`), every folder 0700 and every file 0600:

    PKI root (what parts and clients read)   <domain>/ca.pem (the trust anchor)
                                             <domain>/<kind>/<name>.pem, <name>.key
    CA root (only `up` and `certs` read it)  <domain>/ca.pem, ca.key

Whoever can read the CA key can mint any identity of the domain, so it never sits in the PKI root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .files import private_folder, write_private
from .identity import Identity

LEAF_LIFETIME = dt.timedelta(days=825)
CA_LIFETIME = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Credential:
    """A leaf certificate with its key and the CA that vouches for it: what a TLS endpoint needs."""

    identity: Identity
    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes

    @property
    def thumbprint(self) -> str:
        return certificate_thumbprint(self.cert_pem)


def certificate_thumbprint(cert_pem: bytes) -> str:
    """SHA-256 of the DER certificate as vSphere shows it: "AB:CD:..."."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


class CertificateAuthority:
    def __init__(self, domain: str, cert_pem: bytes, key_pem: bytes) -> None:
        self.domain = domain
        self.cert_pem = cert_pem
        self._cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        public = self._cert.public_key()
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(public, ec.EllipticCurvePublicKey):
            raise ValueError(f"the CA of {domain} must have an ECDSA key")
        self._key = key
        self._public = public
        self._key_pem = key_pem

    @classmethod
    def create(cls, domain: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, f"CA {domain}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"linkedmode SSO domain {domain}"),
        ])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(domain, cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def issue(
        self,
        identity: Identity,
        *,
        names: tuple[str, ...] = (),
        not_valid_before: dt.datetime | None = None,
        not_valid_after: dt.datetime | None = None,
        extra_dns_names: tuple[str, ...] = (),
    ) -> Credential:
        """A leaf for `identity`; a server's also names `extra_dns_names` (where a cluster's DNS reaches it)."""
        if identity.domain != self.domain:
            raise ValueError(f"CA of {self.domain} cannot issue for {identity}")
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_valid_before or _now() - dt.timedelta(minutes=5)
        end = not_valid_after or start + LEAF_LIFETIME
        sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(identity.uri)]
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if identity.kind != "user":
            sans += [
                x509.DNSName(identity.dns_name),
                *(x509.DNSName(name) for name in extra_dns_names),
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]
            sans += [name for name in map(general_name, names) if name not in sans]
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.kind),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.domain),
            ]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._public), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        return Credential(identity, cert.public_bytes(serialization.Encoding.PEM), _key_pem(key), self.cert_pem)

    # -- on disk ---------------------------------------------------------------------------------

    def save(self, ca_root: Path) -> None:
        """Writes the CA's certificate and key under a CA root (never the PKI root clients read)."""
        folder = private_folder(Path(ca_root) / self.domain)
        write_private(folder / "ca.pem", self.cert_pem)
        write_private(folder / "ca.key", self._key_pem)

    @classmethod
    def load(cls, ca_root: Path, domain: str) -> CertificateAuthority:
        folder = Path(ca_root) / domain
        return cls(domain, (folder / "ca.pem").read_bytes(), (folder / "ca.key").read_bytes())


def general_name(name: str) -> x509.GeneralName:
    """A DNS name or an IP address (v4 or v6) as a SAN entry."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return x509.DNSName(name)


def names_missing(cert_pem: bytes, names: tuple[str, ...]) -> list[str]:
    """The names (DNS names or IPs) a certificate's SAN does not carry."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        carried = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        carried = set()
    return [name for name in names if general_name(name) not in carried]


def ca_paths(ca_root: Path, domain: str) -> tuple[Path, Path]:
    """(certificate, key) of a domain's CA under a CA root."""
    folder = Path(ca_root) / domain
    return folder / "ca.pem", folder / "ca.key"


def credential_paths(root: Path, identity: Identity) -> tuple[Path, Path, Path]:
    """(certificate, key, CA certificate) of an identity under a PKI root."""
    folder = Path(root) / identity.domain
    return folder / identity.kind / f"{identity.name}.pem", folder / identity.kind / f"{identity.name}.key", folder / "ca.pem"


def save_trust_anchor(root: Path, domain: str, ca_pem: bytes) -> None:
    """The CA certificate (no key) where parts and clients of the domain find it."""
    write_private(private_folder(Path(root) / domain) / "ca.pem", ca_pem)


def save_credential(root: Path, credential: Credential) -> None:
    cert, key, _ = credential_paths(root, credential.identity)
    private_folder(cert.parent)
    write_private(cert, credential.cert_pem)
    write_private(key, credential.key_pem)


def load_credential(root: Path, identity: Identity) -> Credential:
    cert, key, ca = credential_paths(root, identity)
    missing = [p for p in (cert, key, ca) if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no certificate for {identity} under {root}: {missing[0]} is missing")
    return Credential(identity, cert.read_bytes(), key.read_bytes(), ca.read_bytes())

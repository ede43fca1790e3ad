"""Who a certificate speaks for: an SSO domain principal, written as a SAN URI.

    spiffe://vsphere.local/vcenter/vc-a
    spiffe://vsphere.local/host/esx-a1
    spiffe://vsphere.local/user/administrator
    spiffe://vsphere.local/kms/kms-shared
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509

KINDS = ("vcenter", "host", "user", "kms")


@dataclass(frozen=True)
class Identity:
    domain: str
    kind: str
    name: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"identity kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def uri(self) -> str:
        return f"spiffe://{self.domain}/{self.kind}/{self.name}"

    @property
    def dns_name(self) -> str:
        """The name servers are addressed by in TLS (clients override the target name with it)."""
        return f"{self.name}.{self.kind}.{self.domain}"

    @classmethod
    def from_uri(cls, uri: str) -> Identity:
        prefix = "spiffe://"
        parts = uri[len(prefix):].split("/") if uri.startswith(prefix) else []
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{uri!r} is not an identity URI like spiffe://DOMAIN/KIND/NAME")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}@{self.domain}"


@lru_cache(maxsize=1024)
def identity_of_certificate(pem: bytes) -> Identity | None:
    """The identity in a certificate's SAN URI, or None when it has none we recognise."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        try:
            return Identity.from_uri(uri)
        except ValueError:
            continue
    return None

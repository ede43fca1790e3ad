"""Which vCenter a RelocateSpec's ServiceLocator names, checked as vSphere checks it (rows X2, X3). A
vCenter of another SSO domain is refused here unless the locator has a credential (foreign.py, row X7)."""

from __future__ import annotations

import socket
import ssl

from ..crypto.identity import identity_of_certificate
from ..crypto.pki import certificate_thumbprint
from ..model.faults import InvalidArgument, NotFound, NotSupported, SSLVerifyFault
from ..model.versions import CROSS_VCENTER_MIN_VCENTER, Version
from ..vcenter.peers import PeerInfo
from .ports import VCenterParts
from .spec import ServiceLocator


def fetch_certificate(url: str, timeout: float) -> bytes | None:
    """The certificate a server presents at `url` ("host:port"), without trusting it: what vSphere
    shows as "the target's thumbprint". TLS 1.3 hands it over before the server asks for ours."""
    host, _, port = url.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout) as sock, context.wrap_socket(sock) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None
    return ssl.DER_cert_to_PEM_cert(der).encode() if der else None


def check_version(source: VCenterParts, target: PeerInfo) -> None:
    for name, version in ((source.name, source.version), (target.name, target.version)):
        if Version.parse(version) < CROSS_VCENTER_MIN_VCENTER:   # encryption has its own floor: the decision's
            raise NotSupported(
                f"cross-vCenter vMotion needs vCenter {CROSS_VCENTER_MIN_VCENTER.major}.{CROSS_VCENTER_MIN_VCENTER.minor} "
                f"or later on both sides; {name} runs {version}", object=name, version=version,
            )


def resolve_locator(source: VCenterParts, locator: ServiceLocator) -> PeerInfo:
    """The linked vCenter the locator names, or the fault that says why it cannot be the target."""
    if not locator.instance_uuid:
        raise InvalidArgument("ServiceLocator.instance_uuid is required", argument="service.instance_uuid")
    if not locator.ssl_thumbprint:
        raise InvalidArgument("ServiceLocator.ssl_thumbprint is required", argument="service.ssl_thumbprint")
    if locator.instance_uuid == source.instance_uuid:
        raise InvalidArgument(f"ServiceLocator names {source.name} itself; leave `service` empty to move inside it",
                              argument="service.instance_uuid")
    peers = source.peers()
    peer = next((p for p in peers if p.instance_uuid == locator.instance_uuid), None)
    if peer is None:
        raise _unknown_target(source, locator, peers)
    if locator.url and locator.url != peer.url:
        raise InvalidArgument(f"ServiceLocator.url {locator.url} is not where {peer.name} listens ({peer.url})",
                              argument="service.url")
    if locator.ssl_thumbprint.upper() != peer.thumbprint:
        raise SSLVerifyFault(f"the certificate of {peer.name} does not match the thumbprint {locator.ssl_thumbprint}",
                             object=peer.name, thumbprint=peer.thumbprint)
    check_version(source, peer)
    return peer


def _unknown_target(source: VCenterParts, locator: ServiceLocator, peers: list[PeerInfo]) -> Exception:
    linked = ", ".join(p.name for p in peers) or "none"
    if not locator.url:
        return NotFound(f"no vCenter with instance UUID {locator.instance_uuid} is linked with {source.name} "
                        f"(linked: {linked})", object=locator.instance_uuid)
    pem = fetch_certificate(locator.url, source.timeouts.locator_probe)
    identity = identity_of_certificate(pem) if pem is not None else None
    if pem is None or identity is None:
        return NotFound(f"no vCenter answers at {locator.url}", object=locator.url)
    if identity.domain != source.domain:
        return NotSupported(
            f"{identity.name} at {locator.url} belongs to SSO domain {identity.domain}, not linked with {source.domain}: "
            "cross-vCenter vMotion needs both vCenters in one SSO domain (Enhanced Linked Mode), or a credential "
            "for the target in the ServiceLocator",
            object=identity.name, sso_domain=identity.domain,
        )
    known = next((p for p in peers if p.name == identity.name), None)
    if known is not None:
        return InvalidArgument(f"ServiceLocator.instance_uuid {locator.instance_uuid} does not match {known.name} at "
                               f"{locator.url} (its instance UUID is {known.instance_uuid})", argument="service.instance_uuid")
    if certificate_thumbprint(pem) != locator.ssl_thumbprint.upper():
        return SSLVerifyFault(f"the certificate at {locator.url} does not match the thumbprint {locator.ssl_thumbprint}",
                              object=locator.url)
    return NotFound(f"{identity.name} at {locator.url} is not linked with {source.name} (linked: {linked})",
                    object=identity.name)

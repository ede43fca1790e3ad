"""A vCenter of another SSO domain as a migration's destination (row X7).

The source cannot trust the other domain's CA, and the other vCenter's LinkedMode asks for a
certificate of its own domain. So, as vSphere does with a ServiceLocator's credential: the source reads
the certificate at the locator's URL (the target's login address), checks it against the locator's
SHA-256 thumbprint before it sends anything, then talks over TLS that trusts that one certificate and
nothing else, logs in with the credential, and makes every LinkedMode call of the move under that
user's session, so the user's role on the target decides. The password crosses once, inside that TLS.
"""

from __future__ import annotations

import contextlib
import logging

import grpc

from ..crypto.identity import Identity, identity_of_certificate
from ..crypto.pki import certificate_thumbprint
from ..model.faults import Fault, InvalidArgument, NotFound, SSLVerifyFault
from ..rpc.faults import fault_from_error
from ..rpc.login import log_in
from ..rpc.tls import pinned_channel
from ..v1 import session_pb2, session_pb2_grpc, vcenter_pb2, vcenter_pb2_grpc
from ..vcenter.peers import PeerInfo
from .destinations import RemoteDestination
from .locator import check_version, fetch_certificate
from .ports import VCenterParts
from .spec import LocatorCredential, ServiceLocator

log = logging.getLogger(__name__)


def names_a_linked_vcenter(vc: VCenterParts, locator: ServiceLocator) -> bool:
    """Whether the locator names this vCenter or one linked with it (then no credential is needed)."""
    return locator.instance_uuid == vc.instance_uuid or any(p.instance_uuid == locator.instance_uuid for p in vc.peers())


def _credential(locator: ServiceLocator) -> LocatorCredential:
    credential = locator.credential
    if credential is None or not credential.username:
        raise InvalidArgument("ServiceLocator.credential.username is required", argument="service.credential.username")
    if not credential.password:
        raise InvalidArgument("ServiceLocator.credential.password is required", argument="service.credential.password")
    if not locator.url:
        raise InvalidArgument("ServiceLocator.url is required with a credential: the target's AboutInfo.login_url",
                              argument="service.url")
    return credential


def _pinned_certificate(vc: VCenterParts, locator: ServiceLocator) -> tuple[bytes, Identity]:
    """The certificate at the locator's URL and whom it names, when its SHA-256 is the locator's thumbprint."""
    pem = fetch_certificate(locator.url, vc.timeouts.locator_probe)
    identity = identity_of_certificate(pem) if pem is not None else None
    if pem is None or identity is None or identity.kind != "vcenter":
        raise NotFound(f"no vCenter answers at {locator.url}", object=locator.url)
    if certificate_thumbprint(pem) != locator.ssl_thumbprint.upper():
        raise SSLVerifyFault(f"the certificate at {locator.url} ({identity.name}) does not match the thumbprint "
                             f"{locator.ssl_thumbprint}", object=locator.url)
    if identity.domain == vc.domain:
        raise NotFound(f"{identity.name} at {locator.url} is of {vc.domain} but not linked with {vc.name}: "
                       "a credential is for a vCenter of another SSO domain", object=identity.name)
    return pem, identity


def foreign_destination(vc: VCenterParts, locator: ServiceLocator) -> RemoteDestination:
    """Logged in at the vCenter of another SSO domain the locator names, or the fault that says why not:
    SSLVerifyFault (thumbprint), InvalidLogin (credential), InvalidArgument (instance UUID), NotSupported
    (version). Nothing is sent to any host before this returns."""
    credential = _credential(locator)
    pem, identity = _pinned_certificate(vc, locator)
    channel = pinned_channel(locator.url, pem, identity)
    timeout = vc.timeouts.peer_call
    try:
        session, metadata = log_in(channel, credential.username, credential.password, timeout)

        def logout() -> None:
            with contextlib.suppress(grpc.RpcError):
                session_pb2_grpc.SessionManagerStub(channel).Logout(session_pb2.LogoutRequest(), timeout=timeout,
                                                                    metadata=metadata)

        try:
            about = vcenter_pb2_grpc.VCenterStub(channel).GetAbout(vcenter_pb2.GetAboutRequest(), timeout=timeout,
                                                                  metadata=metadata)
            if about.instance_uuid != locator.instance_uuid:
                raise InvalidArgument(f"ServiceLocator.instance_uuid {locator.instance_uuid} does not match {about.name} at "
                                      f"{locator.url} (its instance UUID is {about.instance_uuid})",
                                      argument="service.instance_uuid")
            check_version(vc, PeerInfo(about.name, about.instance_uuid, about.version, about.sso_domain, locator.url,
                                       locator.ssl_thumbprint))
        except grpc.RpcError as error:
            logout()
            raise fault_from_error(error) from None
        except Fault:
            logout()
            raise
    except BaseException:
        channel.close()
        raise
    log.info("%s logged in to %s (%s) as %s for a move", vc.name, about.name, about.sso_domain, session.user_name)
    return RemoteDestination(vc, about.name, about.version, channel, metadata=metadata, on_close=logout)

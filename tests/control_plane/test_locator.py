"""Admission's first check of a move to another vCenter, with a fake vCenter and fake peers: the
ServiceLocator names a linked vCenter by instance UUID and thumbprint (rows X2, X3), each refusal with
its fault and message."""

from __future__ import annotations

import pytest
from control_plane_fakes import FakeParts

from linkedmode.migration.locator import resolve_locator
from linkedmode.migration.spec import ServiceLocator
from linkedmode.model.faults import Fault, InvalidArgument, NotFound, NotSupported, SSLVerifyFault
from linkedmode.vcenter.peers import PeerInfo

THUMBPRINT = ":".join(["AB"] * 32)
VC_B = PeerInfo("vc-b", "5a1d0c9e-0000-4000-8000-00000000000b", "7.0.3", "vsphere.local", "127.0.0.1:4431", THUMBPRINT)
VC_OLD = PeerInfo("vc-old", "5a1d0c9e-0000-4000-8000-0000000000c5", "5.5.0", "vsphere.local", "127.0.0.1:4432", THUMBPRINT)


@pytest.fixture
def linked(parts: FakeParts, monkeypatch: pytest.MonkeyPatch) -> FakeParts:
    monkeypatch.setattr(parts, "peers", lambda: [VC_B, VC_OLD])
    return parts


def test_a_locator_naming_a_linked_vcenter_resolves_to_it(linked: FakeParts) -> None:
    assert resolve_locator(linked.vc, ServiceLocator(VC_B.instance_uuid, VC_B.url, THUMBPRINT.lower())) == VC_B
    assert resolve_locator(linked.vc, ServiceLocator(VC_B.instance_uuid, "", THUMBPRINT)) == VC_B   # the URL is optional


REFUSED = [
    (ServiceLocator("", VC_B.url, THUMBPRINT), InvalidArgument, "ServiceLocator.instance_uuid is required"),
    (ServiceLocator(VC_B.instance_uuid, VC_B.url, ""), InvalidArgument, "ServiceLocator.ssl_thumbprint is required"),
    (ServiceLocator("5a1d0c9e-0000-4000-8000-00000000000a", "", THUMBPRINT), InvalidArgument,
     "ServiceLocator names vc-a itself; leave `service` empty to move inside it"),
    (ServiceLocator("5a1d0c9e-0000-4000-8000-0000000000ff", "", THUMBPRINT), NotFound,
     "no vCenter with instance UUID 5a1d0c9e-0000-4000-8000-0000000000ff is linked with vc-a (linked: vc-b, vc-old)"),
    (ServiceLocator(VC_B.instance_uuid, "127.0.0.1:9999", THUMBPRINT), InvalidArgument,
     "ServiceLocator.url 127.0.0.1:9999 is not where vc-b listens (127.0.0.1:4431)"),
    (ServiceLocator(VC_B.instance_uuid, VC_B.url, ":".join(["CD"] * 32)), SSLVerifyFault,
     f"the certificate of vc-b does not match the thumbprint {':'.join(['CD'] * 32)}"),
    (ServiceLocator(VC_OLD.instance_uuid, VC_OLD.url, THUMBPRINT), NotSupported,
     "cross-vCenter vMotion needs vCenter 6.0 or later on both sides; vc-old runs 5.5.0"),
]


@pytest.mark.parametrize(("locator", "fault", "message"), REFUSED, ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_a_locator_that_names_no_linked_vcenter_is_refused(linked: FakeParts, locator: ServiceLocator, fault: type[Fault],
                                                           message: str) -> None:
    with pytest.raises(fault) as caught:
        resolve_locator(linked.vc, locator)
    assert caught.value.message == message

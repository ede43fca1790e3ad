"""The PKI: identities in certificates, one CA per SSO domain, `certs init`."""

from __future__ import annotations

import pytest
from cryptography import x509

from linkedmode.crypto.domain_pki import ensure_pki, identities
from linkedmode.crypto.identity import Identity, identity_of_certificate
from linkedmode.crypto.pki import CertificateAuthority
from linkedmode.topology import default_topology


def test_an_identity_travels_in_the_certificate():
    ca = CertificateAuthority.create("vsphere.local")
    credential = ca.issue(Identity("vsphere.local", "vcenter", "vc-a"))
    assert identity_of_certificate(credential.cert_pem) == Identity("vsphere.local", "vcenter", "vc-a")
    cert = x509.load_pem_x509_certificate(credential.cert_pem)
    assert cert.issuer == x509.load_pem_x509_certificate(ca.cert_pem).subject
    assert len(credential.thumbprint.split(":")) == 32


def test_a_ca_issues_only_for_its_domain():
    with pytest.raises(ValueError, match="cannot issue"):
        CertificateAuthority.create("vsphere.local").issue(Identity("corp.local", "user", "x"))


@pytest.mark.parametrize("uri", ["https://vsphere.local/user/x", "spiffe://vsphere.local/user", "spiffe://vsphere.local/robot/x"])
def test_malformed_identity_uris_are_refused(uri):
    with pytest.raises(ValueError):
        Identity.from_uri(uri)


def test_ensure_pki_makes_every_identity_once_and_keys_are_private(tmp_path):
    topology = default_topology()
    pki = tmp_path / "pki"
    made = ensure_pki(pki, topology)
    assert set(made) == set(identities(topology))
    assert {i.kind for i in made} == {"vcenter", "host", "user", "kms"}
    assert ensure_pki(pki, topology) == []
    keys = list(tmp_path.rglob("*.key"))
    assert len(keys) == len(made) + len(topology.sso_domains)
    assert all(k.stat().st_mode & 0o077 == 0 for k in keys)

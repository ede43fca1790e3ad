"""Each part's and KMS's Secret: its own certificate naming its Service, its key and the CA certificates it trusts; no CA key anywhere."""

from __future__ import annotations

import base64
import re

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from linkedmode.crypto.domain_pki import Pki
from linkedmode.crypto.identity import Identity, identity_of_certificate
from linkedmode.crypto.pki import CertificateAuthority, ca_paths
from linkedmode.deploy.credentials import DeployAuthorities
from linkedmode.deploy.parts import ClusterNames, kms_parts, parts
from linkedmode.deploy.render import render_estate
from linkedmode.topology import default_topology, default_topology_text, parse_topology

PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)


def secret_files(secret):
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


def public_numbers(key_pem: bytes):
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.public_key().public_numbers()


def ca_keys(rendered):
    keys = {}
    for domain in ("vsphere.local", "corp.local"):
        _, key = ca_paths(rendered.ca_root, domain)
        keys[domain] = key.read_bytes()
    return keys


def test_a_secret_holds_the_parts_certificate_key_and_ca_certificate_only(rendered):
    for secret in rendered.of_kind("Secret"):
        assert secret["type"] == "kubernetes.io/tls"
        assert sorted(secret["data"]) == ["ca.crt", "tls.crt", "tls.key"]
        files = secret_files(secret)
        assert len(PEM_KEY.findall(b"".join(files.values()))) == 1


def test_no_secret_holds_a_ca_key(rendered):
    ca_public = [public_numbers(key) for key in ca_keys(rendered).values()]
    for secret in rendered.of_kind("Secret"):
        for key_pem in PEM_KEY.findall(b"".join(secret_files(secret).values())):
            assert public_numbers(key_pem) not in ca_public, secret["metadata"]["name"]


def test_no_ca_key_appears_anywhere_in_the_manifests(rendered):
    text = repr(rendered.objects).encode()
    for key_pem in ca_keys(rendered).values():
        der = serialization.load_pem_private_key(key_pem, password=None).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        for form in (key_pem, base64.b64encode(key_pem), base64.b64encode(der), der.hex().encode()):
            assert form not in text


def test_the_ca_key_check_would_catch_a_ca_key_in_a_secret(rendered):
    """The negative of the check above: a Secret carrying the CA key is found."""
    ca_public = [public_numbers(key) for key in ca_keys(rendered).values()]
    leaked = dict(rendered.of_kind("Secret")[0])
    leaked["data"] = {**leaked["data"], "ca.key": base64.b64encode(ca_keys(rendered)["vsphere.local"]).decode()}
    found = [k for k in PEM_KEY.findall(b"".join(secret_files(leaked).values())) if public_numbers(k) in ca_public]
    assert len(found) == 1


def test_each_certificate_names_its_service_and_pod_and_is_its_parts(rendered):
    names = rendered.names
    for part in parts(default_topology()):
        secret = rendered.named("Secret", part.resource)
        files = secret_files(secret)
        cert = x509.load_pem_x509_certificate(files["tls.crt"])
        dns = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        assert names.service_dns(part) in dns and names.pod_dns(part) in dns and part.identity.dns_name in dns
        assert f"{part.resource}.estate.svc.cluster.local" == names.service_dns(part)
        assert identity_of_certificate(files["tls.crt"]) == part.identity
        assert secret["metadata"]["annotations"]["linkedmode.io/identity"] == part.identity.uri
        ca = CertificateAuthority.load(rendered.ca_root, part.domain)
        assert files["ca.crt"] == ca.cert_pem
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.cert_pem))
        assert public_numbers(files["tls.key"]) == cert.public_key().public_numbers()


def test_a_certificate_names_no_other_parts_service(rendered):
    esx_a1 = x509.load_pem_x509_certificate(secret_files(rendered.named("Secret", "host-esx-a1"))["tls.crt"])
    dns = esx_a1.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert not [name for name in dns if "esx-a2" in name or "vc-a" in name]


def test_the_secret_mounted_as_the_pod_mounts_it_is_what_the_part_reads(rendered, tmp_path):
    """The Secret's items at their paths under the state directory's pki/: `Pki`, as `serve` uses it, finds them."""
    for part in parts(default_topology())[:3]:
        sts = rendered.named("StatefulSet", part.resource)
        pod = sts["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "credential")
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "credential")
        assert volume["secret"]["secretName"] == part.resource and mount["readOnly"]
        assert volume["secret"]["defaultMode"] == 0o440   # the part's user reads it as the pod's fsGroup; others never
        assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]
        state_dir = pod["containers"][0]["args"][pod["containers"][0]["args"].index("--state-dir") + 1]
        assert mount["mountPath"] == f"{state_dir}/pki"
        root = tmp_path / part.resource
        files = secret_files(rendered.named("Secret", part.resource))
        for item in volume["secret"]["items"]:
            (root / item["path"]).parent.mkdir(parents=True, exist_ok=True)
            (root / item["path"]).write_bytes(files[item["key"]])
        credential = Pki(root).credential(Identity(part.domain, part.kind, part.name))
        assert credential.cert_pem == files["tls.crt"] and credential.ca_pem == files["ca.crt"]


def test_rendering_again_keeps_the_ca_and_users_but_issues_new_part_certificates(tmp_path):
    topology = default_topology()
    first = DeployAuthorities(topology, tmp_path / "ca")
    assert len(first.save_users(topology, tmp_path / "pki")) == 4
    user_cert = (tmp_path / "pki" / "vsphere.local" / "user" / "administrator.pem").read_bytes()
    second = DeployAuthorities(topology, tmp_path / "ca")
    assert second.ca_certificate("vsphere.local") == first.ca_certificate("vsphere.local")
    assert second.save_users(topology, tmp_path / "pki") == []
    assert (tmp_path / "pki" / "vsphere.local" / "user" / "administrator.pem").read_bytes() == user_cert
    a = render_estate(topology, default_topology_text(), first)
    b = render_estate(topology, default_topology_text(), second)
    assert [o["data"]["tls.crt"] for o in a if o["kind"] == "Secret"] != [o["data"]["tls.crt"] for o in b if o["kind"] == "Secret"]


def test_users_of_an_older_ca_get_new_credentials(tmp_path):
    topology = default_topology()
    DeployAuthorities(topology, tmp_path / "old-ca").save_users(topology, tmp_path / "pki")
    made = DeployAuthorities(topology, tmp_path / "new-ca").save_users(topology, tmp_path / "pki")
    assert {i.name for i in made} == {"administrator", "auditor"} and len(made) == 4
    assert not list((tmp_path / "pki").rglob("ca.key"))


def test_the_cluster_names_default_to_the_linkedmode_namespace():
    part = parts(default_topology())[0]
    assert ClusterNames().pod_dns(part) == "vcenter-vc-a-0.vcenter-vc-a.linkedmode.svc.cluster.local"


def test_the_kms_secret_holds_its_certificate_naming_where_it_listens_and_the_cas_it_trusts(rendered):
    kms = kms_parts(default_topology())[0]
    files = secret_files(rendered.named("Secret", "kms-kms-shared"))
    assert sorted(files) == ["ca.crt", "tls.crt", "tls.key"]
    cert = x509.load_pem_x509_certificate(files["tls.crt"])
    dns = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    listen = rendered.names.kms_address(kms).rpartition(":")[0]
    assert listen == "kms-kms-shared-0.kms-kms-shared.estate.svc.cluster.local" and listen in dns
    assert identity_of_certificate(files["tls.crt"]) == Identity("vsphere.local", "kms", "kms-shared")
    assert files["ca.crt"] == CertificateAuthority.load(rendered.ca_root, "vsphere.local").cert_pem   # its clients' CA alone
    assert public_numbers(files["tls.key"]) == cert.public_key().public_numbers()


def test_the_ca_key_checks_above_cover_the_kms_secret(rendered):
    """The checks of every Secret see the KMS's, and its one private key is its own."""
    secrets = {s["metadata"]["name"]: s for s in rendered.of_kind("Secret")}
    assert "kms-kms-shared" in secrets
    (key_pem,) = PEM_KEY.findall(b"".join(secret_files(secrets["kms-kms-shared"]).values()))
    assert public_numbers(key_pem) not in [public_numbers(k) for k in ca_keys(rendered).values()]


VC_CORP = "      - name: vc-corp\n        version: 7.0.3\n"
CORP_USES_THE_KMS = default_topology_text().replace(VC_CORP, f"{VC_CORP}        key_providers: [kms-shared]\n")


def test_a_vcenter_of_another_domain_gets_the_kms_ca_and_the_kms_trusts_its_domain(tmp_path):
    assert default_topology_text() != CORP_USES_THE_KMS
    topology = parse_topology(yaml.safe_load(CORP_USES_THE_KMS), "corp-kms")
    objects = render_estate(topology, CORP_USES_THE_KMS, DeployAuthorities(topology, tmp_path / "ca"))
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    vsphere, corp = (CertificateAuthority.load(tmp_path / "ca", d) for d in ("vsphere.local", "corp.local"))
    corp_files = secret_files(by_name[("Secret", "vcenter-vc-corp")])
    assert corp_files["ca.crt"] == corp.cert_pem and corp_files["ca.vsphere.local.crt"] == vsphere.cert_pem
    pod = by_name[("StatefulSet", "vcenter-vc-corp")]["spec"]["template"]["spec"]
    items = next(v for v in pod["volumes"] if v["name"] == "credential")["secret"]["items"]
    assert {"key": "ca.vsphere.local.crt", "path": "vsphere.local/ca.pem"} in items   # where the vCenter reads the KMS's CA
    assert "ca.vsphere.local.crt" not in secret_files(by_name[("Secret", "vcenter-vc-a")])
    assert secret_files(by_name[("Secret", "kms-kms-shared")])["ca.crt"] == vsphere.cert_pem + corp.cert_pem
    ca_public = [public_numbers(ca_paths(tmp_path / "ca", d)[1].read_bytes()) for d in ("vsphere.local", "corp.local")]
    for secret in (o for o in objects if o["kind"] == "Secret"):
        for key_pem in PEM_KEY.findall(b"".join(secret_files(secret).values())):
            assert public_numbers(key_pem) not in ca_public, secret["metadata"]["name"]

"""The KMIP lifecycle against a real PyKMIP server in its own process, over mutual TLS on loopback (rows K1, K4:
a standard key provider is a KMIP server reached over TLS with a client certificate it trusts; keys by id)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkedmode.crypto.files import write_private
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import CertificateAuthority, Credential, credential_paths, save_credential
from linkedmode.kms.kmip import KmipKeyServer
from linkedmode.kms.process import KmsProcess
from linkedmode.model.faults import CryptoKeyUnavailable, KmsUnreachable

DOMAIN = "vsphere.local"
KMS = Identity(DOMAIN, "kms", "kms-shared")


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create(DOMAIN)


@pytest.fixture(scope="module")
def kms(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KmsProcess]:
    with KmsProcess("kms-shared", ca.issue(KMS), [ca.cert_pem], tmp_path_factory.mktemp("kms")).start() as process:
        yield process


def key_server(provider: str, address: str, credential: Credential, kms_identity: Identity, kms_ca_pem: bytes) -> KmipKeyServer:
    """A vCenter's KMIP client, its credential in a PKI folder of its own, as an estate keeps it."""
    root = Path(tempfile.mkdtemp(prefix="kmip-test-"))
    save_credential(root, credential)
    certificate, key, _ = credential_paths(root, credential.identity)
    write_private(root / "kms-ca.pem", kms_ca_pem)
    return KmipKeyServer(provider, address, certificate, key, kms_identity, root / "kms-ca.pem")


def client(ca: CertificateAuthority, kms: KmsProcess, vcenter: str, issuer: CertificateAuthority | None = None) -> KmipKeyServer:
    credential = (issuer or ca).issue(Identity((issuer or ca).domain, "vcenter", vcenter))
    return key_server("kms-shared", kms.address, credential, KMS, ca.cert_pem)


def test_kms_listens_on_loopback_port_of_its_own(kms: KmsProcess) -> None:
    host, _, port = kms.address.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0 and kms.running


def test_two_vcenters_share_keys_by_id_and_only_the_creator_retires(ca: CertificateAuthority, kms: KmsProcess) -> None:
    vc_a, vc_b = client(ca, kms, "vc-a"), client(ca, kms, "vc-b")
    try:
        key_id = vc_a.create_key()
        key = vc_a.get_key(key_id)
        assert len(key) == 32 and key == vc_b.get_key(key_id)
        assert vc_a.create_key() != key_id
        with pytest.raises(CryptoKeyUnavailable, match="retire key"):
            vc_b.retire_key(key_id)                  # only the vCenter that made it destroys it
        vc_a.retire_key(key_id)
        with pytest.raises(CryptoKeyUnavailable, match=f"cannot get key {key_id}"):
            vc_b.get_key(key_id)
    finally:
        vc_a.close()
        vc_b.close()


def test_a_key_is_active_on_the_kms_once_created_and_gone_once_retired(ca: CertificateAuthority, kms: KmsProcess) -> None:
    vc_a = client(ca, kms, "vc-a")
    try:
        key_id = vc_a.create_key()
        assert vc_a.key_state(key_id) == "ACTIVE"       # created, then activated: usable at once
        vc_a.retire_key(key_id)                          # revoked, then destroyed: this KMS forgets it
        with pytest.raises(CryptoKeyUnavailable, match=f"cannot read the state of key {key_id}: ITEM_NOT_FOUND"):
            vc_a.key_state(key_id)
    finally:
        vc_a.close()


SLOW_POLICY_LOAD = """\
import time
import kmip.services.server.monitor as monitor
_scan = monitor.PolicyDirectoryMonitor.scan_policies
def scan(self):
    time.sleep(2)
    _scan(self)
monitor.PolicyDirectoryMonitor.scan_policies = scan
"""


def test_a_kms_tells_its_address_only_once_its_key_policy_is_loaded(ca: CertificateAuthority, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """PyKMIP reads policy files in a process of its own after it starts; a key made before that is
    refused (PERMISSION_DENIED). Here the read takes 2 s: the first create still succeeds."""
    slow = tmp_path / "slow-policy"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_POLICY_LOAD)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(slow), os.environ.get("PYTHONPATH", "")) if p))
    with KmsProcess("kms-shared", ca.issue(KMS), [ca.cert_pem], tmp_path / "kms").start() as process:
        vc_a = client(ca, process, "vc-a")
        try:
            assert vc_a.key_state(vc_a.create_key()) == "ACTIVE"
        finally:
            vc_a.close()


def test_unknown_key_id_is_a_clean_fault(ca: CertificateAuthority, kms: KmsProcess) -> None:
    vc_a = client(ca, kms, "vc-a")
    try:
        with pytest.raises(CryptoKeyUnavailable, match="cannot get key 999999"):
            vc_a.get_key("999999")
    finally:
        vc_a.close()


def test_client_of_another_ca_is_refused_by_the_kms(ca: CertificateAuthority, kms: KmsProcess) -> None:
    stranger = CertificateAuthority.create("corp.local")
    vc = client(ca, kms, "vc-corp", issuer=stranger)
    try:
        with pytest.raises(KmsUnreachable, match="kms-shared: cannot create a key") as refused:
            vc.create_key()
        assert "does not answer" not in refused.value.message
    finally:
        vc.close()


def test_server_that_is_not_the_kms_is_not_trusted(ca: CertificateAuthority, kms: KmsProcess) -> None:
    """Same CA, same port, but the vCenter expects another KMS identity: it refuses to talk."""
    credential = ca.issue(Identity(DOMAIN, "vcenter", "vc-a"))
    wrong = key_server("kms-other", kms.address, credential, Identity(DOMAIN, "kms", "kms-other"), ca.cert_pem)
    try:
        with pytest.raises(KmsUnreachable, match=r"is kms kms-shared@vsphere\.local, not kms kms-other@vsphere\.local"):
            wrong.create_key()
    finally:
        wrong.close()


def test_kms_that_is_down_fails_cleanly_and_its_keys_survive_a_restart(ca: CertificateAuthority, tmp_path: Path) -> None:
    process = KmsProcess("kms-shared", ca.issue(KMS), [ca.cert_pem], tmp_path / "kms").start()
    vc_a = client(ca, process, "vc-a")
    try:
        key_id = vc_a.create_key()
        key = vc_a.get_key(key_id)
        process.kill()
        assert not process.running
        with pytest.raises(KmsUnreachable, match=r"cannot get key .*does not answer"):
            vc_a.get_key(key_id)
        process.start()                               # same database: the key is still there, by id
        again = key_server("kms-shared", process.address, ca.issue(Identity(DOMAIN, "vcenter", "vc-a")), KMS, ca.cert_pem)
        try:
            assert again.get_key(key_id) == key
        finally:
            again.close()
    finally:
        vc_a.close()
        process.stop()


ORPHAN = """
import os, sys
from pathlib import Path
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.files import write_private
from linkedmode.crypto.pki import CertificateAuthority, Credential, credential_paths, save_credential
from linkedmode.kms.process import KmsProcess
ca = CertificateAuthority.create("vsphere.local")
kms = KmsProcess("kms-shared", ca.issue(Identity("vsphere.local", "kms", "kms-shared")), [ca.cert_pem], Path(sys.argv[1])).start()
print(kms.pid, flush=True)
os._exit(0)          # killed, as it were: nobody stops the KMS
"""


def test_a_kms_whose_starter_dies_stops_by_itself(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", ORPHAN, str(tmp_path / "kms")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the KMS went on running after the process that started it died")

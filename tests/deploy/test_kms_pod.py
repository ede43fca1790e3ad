"""A KMS as its pod runs it: listening on the address given, reading its credential where its Secret is mounted,
its database apart; and its probe, a mutual-TLS handshake as the KMS itself, against a real PyKMIP server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkedmode.crypto.files import private_folder, write_private
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import CertificateAuthority, Credential
from linkedmode.deploy.kms_probe import handshake

DOMAIN = "vsphere.local"
START_SECONDS = 60


def credential_dir(root: Path, credential: Credential, trusted: bytes) -> Path:
    """The Secret's items as the pod mounts them."""
    folder = private_folder(root)
    write_private(folder / "kms.pem", credential.cert_pem)
    write_private(folder / "kms.key", credential.key_pem)
    write_private(folder / "trust.pem", trusted)
    return folder


@dataclass
class RunningKms:
    address: str
    data_dir: Path
    credentials: Path
    ca: CertificateAuthority

    def log(self) -> str:
        return (self.data_dir / "kms.log").read_text(errors="replace")


def start_kms(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "linkedmode.kms.server", "--name", "kms-shared", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def kms(tmp_path_factory) -> Iterator[RunningKms]:
    root = tmp_path_factory.mktemp("kms")
    ca = CertificateAuthority.create(DOMAIN)
    credentials = credential_dir(root / "secret", ca.issue(Identity(DOMAIN, "kms", "kms-shared"), extra_dns_names=("localhost",)),
                                 ca.cert_pem)
    data_dir = root / "data"
    process = start_kms("--data-dir", str(data_dir), "--credential-dir", str(credentials), "--listen", "localhost:0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()          # the server prints it once it listens
        assert line.startswith("listening "), process.stderr.read() if process.stderr else line
        yield RunningKms(line.removeprefix("listening "), data_dir, credentials, ca)
    finally:
        process.terminate()
        process.wait(30)


def test_the_kms_listens_on_the_address_given_a_host_name_resolved(kms):
    host, _, port = kms.address.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0   # localhost, resolved as a pod's own DNS name is


def test_its_database_is_in_the_data_dir_and_no_key_is_copied_there(kms):
    assert (kms.data_dir / "kms.db").exists()
    written = [p for p in kms.data_dir.rglob("*") if p.is_file()]
    assert written and not [p for p in written if b"PRIVATE KEY" in p.read_bytes() or p.suffix in (".key", ".pem")]


def test_the_probe_passes_against_the_serving_kms_and_pykmip_logs_no_failure(kms):
    before = len(kms.log())
    assert handshake(kms.address, kms.credentials) == (True, f"kms:kms-shared at {kms.address}: SERVING")
    done = subprocess.run([sys.executable, "-m", "linkedmode.deploy.kms_probe", kms.address, "--credential-dir", str(kms.credentials)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"kms:kms-shared at {kms.address}: SERVING", done.stderr
    time.sleep(0.5)                                          # the server's session threads write as they end
    assert "Failure" not in kms.log()[before:]


def test_a_bare_tcp_connection_is_a_failed_session_to_pykmip(kms):
    """Why the probe is not a `tcpSocket` one: every period would log a failed TLS handshake."""
    before = len(kms.log())
    host, _, port = kms.address.rpartition(":")
    socket.create_connection((host, int(port)), timeout=5).close()
    deadline = time.monotonic() + 10
    while "Failure running TLS handshake" not in kms.log()[before:]:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_the_probe_fails_against_another_server_on_the_port(kms, tmp_path):
    """Its credential names another KMS of the same CA: the server there is not the one it probes for."""
    other = credential_dir(tmp_path / "other", kms.ca.issue(Identity(DOMAIN, "kms", "kms-other")), kms.ca.cert_pem)
    assert handshake(kms.address, other) == (
        False, f"kms:kms-other at {kms.address}: the server there is kms kms-shared@{DOMAIN}, not kms kms-other@{DOMAIN}")


def test_the_probe_fails_with_a_credential_of_another_ca(kms, tmp_path):
    stranger = CertificateAuthority.create(DOMAIN)
    folder = credential_dir(tmp_path / "stale", stranger.issue(Identity(DOMAIN, "kms", "kms-shared")), stranger.cert_pem)
    serving, line = handshake(kms.address, folder, timeout=5)
    assert not serving and line.startswith(f"kms:kms-shared at {kms.address}: TLS handshake refused (")


def test_the_probe_fails_where_nothing_listens(kms):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    assert handshake(f"127.0.0.1:{port}", kms.credentials, timeout=2) == (
        False, f"kms:kms-shared at 127.0.0.1:{port}: connection refused")


def test_the_probe_without_its_credential_says_what_is_missing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "linkedmode.deploy.kms_probe", "127.0.0.1:5696", "--credential-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.strip() == f"linkedmode kms probe: no kms.pem under {tmp_path}"


def test_the_probe_refuses_a_credential_that_is_not_a_kms(tmp_path):
    ca = CertificateAuthority.create(DOMAIN)
    folder = credential_dir(tmp_path / "vc", ca.issue(Identity(DOMAIN, "vcenter", "vc-a")), ca.cert_pem)
    done = subprocess.run([sys.executable, "-m", "linkedmode.deploy.kms_probe", "127.0.0.1:5696", "--credential-dir", str(folder)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.strip() == f"linkedmode kms probe: {folder / 'kms.pem'} is not a KMS's certificate"


def test_a_malformed_listen_address_is_refused_with_the_form(tmp_path):
    done = subprocess.run([sys.executable, "-m", "linkedmode.kms.server", "--name", "kms-shared", "--data-dir", str(tmp_path),
                           "--listen", "localhost"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "KMS kms-shared: --listen 'localhost': expected HOST:PORT, a port from 0 to 65535"


def test_an_address_taken_is_refused_and_the_kms_exits(kms, tmp_path):
    data_dir = tmp_path / "data"
    process = start_kms("--data-dir", str(data_dir), "--credential-dir", str(kms.credentials), "--listen", kms.address)
    try:
        _, errors = process.communicate(timeout=START_SECONDS)
    finally:
        process.kill()
    assert process.returncode == 1
    assert errors.strip() == f"KMS kms-shared: cannot listen on {kms.address} (see {data_dir / 'kms.log'})"


def test_a_missing_credential_file_is_named(tmp_path):
    done = subprocess.run([sys.executable, "-m", "linkedmode.kms.server", "--name", "kms-shared", "--data-dir", str(tmp_path / "data"),
                           "--credential-dir", str(tmp_path / "secret")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip() == f"KMS kms-shared: {tmp_path / 'secret' / 'kms.pem'} is missing"


def test_the_kms_probe_loads_neither_pykmip_nor_any_part():
    heavy = ("kmip", "grpc", "linkedmode.kms.kmip", "linkedmode.kms.providers", "linkedmode.estate", "linkedmode.cli",
             "linkedmode.vcenter", "linkedmode.host")
    done = subprocess.run([sys.executable, "-c", "import sys, linkedmode.deploy.kms_probe; "
                           f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr

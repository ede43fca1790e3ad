"""A state directory is the owner's alone, and the CA key is not where clients read their credential."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from estate_helpers import client_of

from linkedmode.client import Endpoints
from linkedmode.crypto.domain_pki import ensure_pki
from linkedmode.crypto.files import private_file, private_folder, write_private
from linkedmode.crypto.pki import CertificateAuthority
from linkedmode.estate import start_estate
from linkedmode.topology import default_topology
from linkedmode.v1 import vcenter_pb2

ENV = {**os.environ, "GRPC_VERBOSITY": "NONE", "PYTHONUNBUFFERED": "1"}


def modes(root: Path) -> dict[str, int]:
    """Every entry under root (root included), by path relative to root: its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def not_private(root: Path) -> dict[str, str]:
    return {name: oct(mode) for name, mode in modes(root).items()
            if mode != (0o700 if (root / name).is_dir() else 0o600)}


@pytest.fixture(scope="module")
def up_state(tmp_path_factory):
    """`linkedmode up` on a state directory that does not exist yet, under a umask that would share it."""
    state_dir = tmp_path_factory.mktemp("fresh") / "nested" / "state"
    up = subprocess.Popen([sys.executable, "-m", "linkedmode", "up", "--state-dir", str(state_dir)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                          preexec_fn=lambda: os.umask(0o022))
    try:
        deadline = time.monotonic() + 60
        while not (state_dir / "endpoints.json").exists():
            assert up.poll() is None, up.stderr.read() if up.stderr else ""
            assert time.monotonic() < deadline, "linkedmode up did not start"
            time.sleep(0.05)
        yield state_dir, up
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()
                up.communicate()


def test_everything_up_makes_in_a_fresh_state_directory_is_owner_only(up_state):
    state_dir, _ = up_state
    found = modes(state_dir)
    names = set(found)
    # what the estate is made of is there, so the check below covers it
    assert {"pki", "ca", "vcenters", "datastores", "endpoints.json", "up.lock"} <= names
    assert "vcenters/vc-a.db" in names and any(n.endswith(".db-wal") for n in names)
    assert any(n.endswith(".vmdk") for n in names), "no VM disk was made"
    assert any(n.startswith("datastores/vc-a/") for n in names)
    assert not_private(state_dir) == {}
    assert stat.S_IMODE(state_dir.parent.stat().st_mode) == 0o700   # the folders up made on the way too


def test_the_ca_key_is_apart_from_what_clients_read(up_state):
    state_dir, _ = up_state
    assert sorted(p.relative_to(state_dir).as_posix() for p in state_dir.rglob("ca.key")) == [
        "ca/corp.local/ca.key", "ca/vsphere.local/ca.key"]
    pki = state_dir / "pki"
    assert not [p for p in pki.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()
                and p.parent.name not in ("user", "vcenter", "host", "kms")]
    assert (pki / "vsphere.local" / "ca.pem").read_bytes() == (state_dir / "ca" / "vsphere.local" / "ca.pem").read_bytes()


def test_a_client_needs_only_its_own_credential(up_state, tmp_path):
    """A copy of the state directory with nothing but the endpoints, the CA certificate and one user's
    credential is enough to call the estate."""
    state_dir, _ = up_state
    mine = tmp_path / "client"
    user = Path("pki/vsphere.local/user")
    (mine / user).mkdir(parents=True)
    for name in ("endpoints.json", "pki/vsphere.local/ca.pem", f"{user}/auditor.pem", f"{user}/auditor.key"):
        shutil.copy(state_dir / name, mine / name)
    endpoints = Endpoints(mine)
    endpoints.data["pki"] = str(mine / "pki")
    endpoints.pki = mine / "pki"
    client = endpoints.connect("vsphere.local", "auditor", "vc-a")
    try:
        assert client.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
    finally:
        client.close()


def test_a_ca_dir_elsewhere_keeps_every_ca_key_out_of_the_state_directory(tmp_path):
    state_dir, ca_dir = tmp_path / "state", tmp_path / "ca-elsewhere"
    with start_estate(default_topology(), state_dir, ca_dir=ca_dir) as estate:
        assert estate.ca_root == ca_dir
        assert list(state_dir.rglob("ca.key")) == []
        assert sorted(p.parent.name for p in ca_dir.rglob("ca.key")) == ["corp.local", "vsphere.local"]
        assert not_private(ca_dir) == {}
        client = client_of(estate, "vc-a")
        assert client.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
        client.close()


def test_a_ca_key_left_in_the_pki_by_an_older_layout_moves_to_the_ca_root(tmp_path):
    topology = default_topology()
    pki, ca_root = tmp_path / "pki", tmp_path / "ca"
    authority = CertificateAuthority.create("vsphere.local")
    (pki / "vsphere.local").mkdir(parents=True)
    (pki / "vsphere.local" / "ca.pem").write_bytes(authority.cert_pem)
    authority.save(tmp_path / "old")
    shutil.copy(tmp_path / "old" / "vsphere.local" / "ca.key", pki / "vsphere.local" / "ca.key")
    ensure_pki(pki, topology, ca_root=ca_root)
    assert not (pki / "vsphere.local" / "ca.key").exists()
    assert CertificateAuthority.load(ca_root, "vsphere.local").cert_pem == authority.cert_pem   # the same CA, kept


def test_a_pki_without_its_ca_key_says_what_is_missing(tmp_path):
    topology = default_topology()
    ensure_pki(tmp_path / "pki", topology, ca_root=tmp_path / "ca")
    shutil.rmtree(tmp_path / "ca")
    assert ensure_pki(tmp_path / "pki", topology, ca_root=tmp_path / "ca") == []   # nothing missing: no CA needed
    (tmp_path / "pki" / "vsphere.local" / "user" / "auditor.pem").unlink()
    with pytest.raises(FileNotFoundError) as missing:
        ensure_pki(tmp_path / "pki", topology, ca_root=tmp_path / "ca")
    assert str(missing.value) == (f"no certificate for user auditor@vsphere.local under {tmp_path / 'pki'}, and no CA key "
                                  f"of vsphere.local under {tmp_path / 'ca'} to make one")


def test_owner_only_helpers_tighten_what_was_made_open(tmp_path):
    old_umask = os.umask(0o022)
    try:
        folder = tmp_path / "open"
        folder.mkdir(mode=0o755)
        (folder / "file").write_bytes(b"x")
        (folder / "file").chmod(0o644)
        assert stat.S_IMODE(private_folder(folder).stat().st_mode) == 0o700
        assert stat.S_IMODE(private_file(folder / "file").stat().st_mode) == 0o600
        assert (folder / "file").read_bytes() == b"x"   # made private, not emptied
        write_private(folder / "new", b"secret")
        assert stat.S_IMODE((folder / "new").stat().st_mode) == 0o600
        assert stat.S_IMODE(private_folder(tmp_path / "a" / "b").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)


def test_an_estate_started_under_an_open_umask_still_makes_everything_owner_only(tmp_path):
    """Not only `up` (which narrows the umask): an estate started from Python (or a part run by `serve`,
    which builds its parts the same way) makes its VM folders, disks and KMS logs owner-only under a
    umask that would share them."""
    state_dir = tmp_path / "state"
    old_umask = os.umask(0o022)
    try:
        with start_estate(default_topology(), state_dir) as estate:
            assert estate.kms, "the built-in topology runs a KMS"
            found = modes(state_dir)
    finally:
        os.umask(old_umask)
    assert any(n.startswith("kms/") and n.endswith("stderr.log") for n in found)
    assert any(n.endswith(".vmdk") for n in found)
    assert not_private(state_dir) == {}



def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkedmode", *args], capture_output=True, text=True, env=ENV, timeout=60)


def test_certs_export_gives_a_client_its_own_credential_and_no_other(up_state, tmp_path):
    state_dir, _ = up_state
    mine = tmp_path / "auditor"
    done = cli("certs", "export", "auditor", str(mine), "--state-dir", str(state_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{mine}: the credential of auditor@vsphere.local alone")
    assert sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*") if p.is_file()) == [
        "endpoints.json", "pki/vsphere.local/ca.pem", "pki/vsphere.local/user/auditor.key",
        "pki/vsphere.local/user/auditor.pem"]
    assert [p.name for p in mine.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()] == ["auditor.key"]
    assert not_private(mine) == {}
    # the folder is a state directory to the client commands: as the auditor, and as no one else
    listed = cli("vm", "list", "--state-dir", str(mine), "--user", "auditor", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "app-required" in listed.stdout
    other = cli("vm", "list", "--state-dir", str(mine), "--user", "administrator")
    assert other.returncode == 1
    assert other.stderr.strip() == (f"linkedmode: no certificate for user administrator@vsphere.local under {mine.resolve() / 'pki'}: "
                                    f"{mine.resolve() / 'pki/vsphere.local/user/administrator.pem'} is missing")


def test_certs_export_of_an_unknown_user_or_without_a_running_estate_says_so(up_state, tmp_path):
    state_dir, _ = up_state
    unknown = cli("certs", "export", "nobody", str(tmp_path / "x"), "--state-dir", str(state_dir))
    assert unknown.returncode == 1 and unknown.stderr.startswith("linkedmode: NotFound: no user 'nobody' in vsphere.local (it has ")
    assert not (tmp_path / "x").exists()
    stopped = cli("certs", "export", "auditor", str(tmp_path / "y"), "--state-dir", str(tmp_path / "none"))
    assert stopped.returncode == 1
    assert stopped.stderr.strip() == (f"linkedmode: no running estate in {tmp_path / 'none'} "
                                      f"(start one with: linkedmode up --state-dir {tmp_path / 'none'})")

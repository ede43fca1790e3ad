"""`linkedmode migrate --username` to a vCenter of another SSO domain (row X7): the password from the
environment, never from the command line, and never printed back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

ENV = {**os.environ, "GRPC_VERBOSITY": "NONE", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    up = subprocess.Popen([sys.executable, "-m", "linkedmode", "up", "--state-dir", str(state)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 60
        while not (state / "endpoints.json").exists():
            assert up.poll() is None, up.stderr.read() if up.stderr else ""
            assert time.monotonic() < deadline, "linkedmode up did not start"
            time.sleep(0.05)
        yield state
    finally:
        up.terminate()
        try:
            up.wait(20)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait(5)


def migrate_to_corp(state_dir, password: str, user: str = "administrator@corp.local") -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "linkedmode", "migrate", "app-required", "--to-vcenter", "vc-corp", "--to-host", "esx-c1",
            "--username", user, "--state-dir", str(state_dir)]
    return subprocess.run(args, capture_output=True, text=True, env={**ENV, "LINKEDMODE_PASSWORD": password}, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_a_wrong_password_leaves_the_vm_where_it_is(state_dir):
    done = migrate_to_corp(state_dir, "Wrong-5d1e-password")
    assert done.returncode == 1
    assert done.stderr.strip() == "linkedmode: InvalidLogin: cannot log in to vc-corp: incorrect user name or password"
    assert "Wrong-5d1e-password" not in done.stdout + done.stderr
    listed = subprocess.run([sys.executable, "-m", "linkedmode", "vm", "show", "app-required", "--json", "--state-dir",
                             str(state_dir)], capture_output=True, text=True, env=ENV, timeout=60)
    assert '"vc-a"' in listed.stdout and "POWERED_ON" in listed.stdout, listed.stdout + listed.stderr


def test_the_move_to_another_domain_with_the_demo_password(state_dir):
    done = migrate_to_corp(state_dir, "VMware1!")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("app-required: vc-a -> vc-corp/esx-c1, encrypted: ")
    assert "VMware1!" not in done.stdout + done.stderr
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert b"VMware1!" not in path.read_bytes(), path


def test_the_command_line_refusals(state_dir):
    base = [sys.executable, "-m", "linkedmode", "migrate", "app-opportunistic", "--to-host", "esx-c1", "--state-dir", str(state_dir)]

    def run(*args: str, password: str = "") -> str:
        env = {**ENV, "LINKEDMODE_PASSWORD": password} if password else {k: v for k, v in ENV.items() if k != "LINKEDMODE_PASSWORD"}
        done = subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode != 0
        return done.stderr.strip().splitlines()[-1]

    assert run("--username", "administrator", password="x") == (
        "linkedmode: --username is for a vCenter of another SSO domain: give it with --to-vcenter")
    assert run("--to-vcenter", "vc-b", "--username", "administrator", password="x") == (
        "linkedmode: vc-b has no login address: no user of vsphere.local has a password")
    assert "no password for administrator@corp.local" in run("--to-vcenter", "vc-corp", "--username", "administrator@corp.local")

"""The command line of bulk operations, `top` and JSON logs: `up --log-format json` in its own process,
client commands against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = {**os.environ, "GRPC_VERBOSITY": "NONE", "PYTHONUNBUFFERED": "1"}


def linkedmode(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkedmode", *args, "--state-dir", str(state_dir)],
                          capture_output=True, text=True, env=ENV, timeout=120)


@pytest.fixture(scope="module")
def running_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    state_dir = tmp_path_factory.mktemp("state")
    up = subprocess.Popen([sys.executable, "-m", "linkedmode", "--log-level", "INFO", "up", "--log-format", "json",
                           "--state-dir", str(state_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 60
    while not (state_dir / "endpoints.json").exists():
        assert up.poll() is None, up.stderr.read() if up.stderr else ""
        assert time.monotonic() < deadline, "linkedmode up did not start"
        time.sleep(0.05)
    yield state_dir, up
    if up.poll() is None:
        up.kill()
        up.wait(10)


def test_up_reports_where_each_part_serves_its_metrics(running_up: tuple[Path, subprocess.Popen[str]]) -> None:
    state_dir, _ = running_up
    vc_a = json.loads((state_dir / "endpoints.json").read_text())["sso_domains"][0]["vcenters"][0]
    assert vc_a["metrics"].startswith("http://127.0.0.1:")
    text = urllib.request.urlopen(vc_a["host_metrics"]["esx-a1"], timeout=10).read().decode()
    assert "linkedmode_host_migration_keys_live 0.0" in text


def test_bulk_set_encryption_from_the_command_line(running_up: tuple[Path, subprocess.Popen[str]]) -> None:
    state_dir, _ = running_up
    done = linkedmode("bulk", "set-encryption", "required", "--power-state", "poweredOff", "--json", state_dir=state_dir)
    assert done.returncode == 0, done.stderr
    tasks = json.loads(done.stdout)
    assert [o["name"] for t in tasks for o in t["bulk"]["vms"]] == ["batch-off"]
    shown = linkedmode("vm", "show", "batch-off", "--json", state_dir=state_dir)
    assert json.loads(shown.stdout)["migrate_encryption"] == "MIGRATE_ENCRYPTION_REQUIRED"
    none = linkedmode("bulk", "set-encryption", "required", "--name", "nope-*", state_dir=state_dir)
    assert none.returncode == 1
    assert none.stderr.strip() == "linkedmode: no VM of vc-a, vc-b, vc-legacy matches the filter"
    # powered-on VMs matched: each listed with its fault, and the command says how many failed
    some = linkedmode("bulk", "set-encryption", "disabled", "--name", "app-*", "--vcenter", "vc-a", state_dir=state_dir)
    assert some.returncode == 1 and some.stderr.strip() == "linkedmode: 3 of 3 VMs failed"
    assert "InvalidPowerState: migrate_encryption of app-disabled changes only while it is powered off" in some.stdout


def test_maintenance_mode_and_evacuation_from_the_command_line(running_up: tuple[Path, subprocess.Popen[str]]) -> None:
    state_dir, _ = running_up
    entered = linkedmode("host", "maintenance", "enter", "esx-a2", state_dir=state_dir)
    assert entered.returncode == 0, entered.stderr
    lines = entered.stdout.splitlines()
    assert lines[0].split() == ["VCENTER", "VM", "OUTCOME", "NOW", "ON", "ENCRYPTED", "FAULT"]
    assert {tuple(line.split()[:4]) for line in lines[1:-1]} == {("vc-a", "app-required", "moved", "vc-a/esx-a1"),
                                                                  ("vc-a", "batch-off", "moved", "vc-a/esx-a1")}
    assert lines[-1] == "esx-a2 is in maintenance mode"
    refused = linkedmode("migrate", "batch-off", "--to-host", "esx-a2", state_dir=state_dir)
    assert refused.returncode == 1
    assert "InvalidHostState: host esx-a2 is in maintenance mode: batch-off cannot move there" in refused.stderr
    assert linkedmode("host", "maintenance", "exit", "esx-a2", state_dir=state_dir).stdout.strip() == \
        "esx-a2 has exited maintenance mode"
    unknown = linkedmode("host", "evacuate", "esx-zz", state_dir=state_dir)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "linkedmode: no host named 'esx-zz' in vc-a, vc-b, vc-legacy"


def test_top_shows_the_migrations_in_flight(running_up: tuple[Path, subprocess.Popen[str]]) -> None:
    state_dir, _ = running_up
    once = linkedmode("top", "--once", state_dir=state_dir)
    assert once.returncode == 0, once.stderr
    assert "migrations in flight" in once.stdout.splitlines()[0]
    assert once.stdout.splitlines()[1].split()[:4] == ["VCENTER", "TASK", "WHAT", "ON"]
    assert json.loads(linkedmode("top", "--once", "--json", state_dir=state_dir).stdout) == []
    timed = linkedmode("top", "--seconds", "1.5", "--interval", "0.1", state_dir=state_dir)   # room for a slow first screen
    assert timed.returncode == 0 and timed.stdout.count("migrations in flight") >= 2


def test_the_json_log_of_up_is_one_object_per_line(running_up: tuple[Path, subprocess.Popen[str]]) -> None:
    """Runs last in this module: stops `up` and reads what it printed and logged."""
    _, up = running_up
    up.send_signal(signal.SIGINT)
    stdout, stderr = up.communicate(timeout=60)
    table = stdout.splitlines()[1:]
    assert table[0].split()[-1] == "METRICS"
    assert next(line for line in table if " vc-a " in line).split()[-1].startswith("http://127.0.0.1:")
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines, "up logged nothing at INFO"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["message"].startswith("vCenter vc-a listens on ") and "metrics on http://" in line["message"]
               for line in lines)

"""`linkedmode up --processes` from the command line: a table of parts with their pids, client
commands reach the estate, and Ctrl-C (SIGINT) stops every part."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from process_estate_helpers import TOPOLOGY


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 90) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} from up; it said: {lines}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_processes_runs_each_part_apart_and_ctrl_c_stops_them_all(tmp_path):
    topology = tmp_path / "estate.yaml"
    topology.write_text(TOPOLOGY)
    state = tmp_path / "state"
    up = subprocess.Popen([sys.executable, "-m", "linkedmode", "up", str(topology), "--processes", "--state-dir", str(state)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "GRPC_VERBOSITY": "NONE"})
    try:
        lines = read_until(up, "Stop with Ctrl-C.")
        rows = [line.split() for line in lines if line.startswith("vsphere.local")]
        pids = {row[2]: int(row[3]) for row in rows}
        assert set(pids) == {"vc-a", "a1", "vc-b", "b1"} and len(set(pids.values()) | {up.pid}) == 5
        listed = subprocess.run([sys.executable, "-m", "linkedmode", "vm", "list", "--state-dir", str(state), "--json"],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "mover" in {vm["name"] for vm in json.loads(listed.stdout)}
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
        assert "linkedmode: stopped" in (up.stdout.read() if up.stdout else "")
        assert not [name for name, pid in pids.items() if alive(pid)]
        assert not (state / "endpoints.json").exists()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()

"""Every part of a topology in an OS process of its own (`linkedmode serve PART`), watched: a part that
dies is reported and, when asked, started again on the same addresses and state.

The topology the children read has no port 0 left (`topology.addresses.place_ports` fixed them before
any started), so each part knows where the others are from the start and keeps its addresses across
restarts. Each child writes its log to `STATE_DIR/logs/<kind>-<name>.log`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .crypto.files import private_file, private_folder

START_SECONDS = 60.0      # a part that does not say where it listens within this is given up on
# Parts started at once: each start is a Python interpreter reading the topology; 64 hosts at once on
# 2 cores took longer than START_SECONDS each, though the whole took no longer in waves.
START_WAVE = max(4, 4 * (os.cpu_count() or 1))
STOP_SECONDS = 10.0       # a part that does not stop within this after SIGTERM is killed
WATCH_SECONDS = 0.2       # how often the supervisor looks for parts that died


class PartDidNotStart(RuntimeError):
    """A child ended, or said nothing in time, before it listened."""


@dataclass(frozen=True)
class PartExit:
    """A part that died: which, its process id and how it ended (an exit code, or minus a signal)."""

    part: str
    pid: int
    returncode: int

    def __str__(self) -> str:
        how = f"signal {-self.returncode}" if self.returncode < 0 else f"exit code {self.returncode}"
        return f"{self.part} (pid {self.pid}) died with {how}"


class PartProcess:
    """One `linkedmode serve PART` child, started and waited for until it says where it listens."""

    def __init__(self, part: str, topology: Path, state_dir: Path, *, log_dir: Path | None = None,
                 prefix: Sequence[str] = (), options: Sequence[str] = ()) -> None:
        """`prefix`: a command the part runs under (`ip netns exec NS` puts it in a network namespace);
        `options`: more options of `serve` (a vCenter's `--kms NAME=ADDRESS`)."""
        self.part = part
        command = [*prefix, sys.executable, "-m", "linkedmode", "serve", part, "--topology", str(topology),
                   "--state-dir", str(state_dir), *options]
        self.log_path = private_file(private_folder(log_dir or state_dir / "logs") / f"{part.replace(':', '-')}.log")
        with open(self.log_path, "ab") as log:
            # a session of its own: Ctrl-C reaches the supervisor, which stops the parts, not each part
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                            env={**os.environ, "GRPC_VERBOSITY": "NONE"}, start_new_session=True)
        self.pid = self.process.pid
        self.info: dict[str, Any] = {}

    def wait_ready(self, timeout: float = START_SECONDS) -> dict[str, Any]:
        """The part's JSON line (address, vMotion address, instance UUID, pid), once it listens."""
        stdout = self.process.stdout
        assert stdout is not None   # PIPE
        line = _read_line(stdout, timeout)
        if not line:
            self.stop()
            raise PartDidNotStart(f"{self.part} did not start: {self.log_tail() or 'it said nothing'}")
        self.info = json.loads(line)
        return self.info

    def log_tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    @property
    def address(self) -> str:
        return str(self.info["address"])

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests)."""
        if self.alive():
            self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _waves(parts: list[str], size: int) -> list[list[str]]:
    return [parts[n:n + size] for n in range(0, len(parts), size)]


def _read_line(stream: IO[str], timeout: float) -> str:
    """A line from a child's stdout, or "" when it ends or says nothing within `timeout`."""
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else ""


class Supervisor:
    """Starts parts as processes (hosts first, then vCenters, each group at once) and watches them."""

    def __init__(self, topology: Path, state_dir: Path, *, restart: bool = False,
                 report: Callable[[str], None] = lambda line: None, options: Mapping[str, Sequence[str]] | None = None) -> None:
        """`options`: more options of `serve` by part ("vcenter:vc-a" -> [...])."""
        self.options = dict(options or {})
        self.topology = topology
        self.state_dir = state_dir
        self.restart = restart
        self.report = report
        self.parts: dict[str, PartProcess] = {}
        self.exits: list[PartExit] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self, groups: Iterable[list[str]]) -> Supervisor:
        """Starts each group of parts once the group before listens; then watches them all."""
        try:
            for group in groups:
                for wave in _waves(group, START_WAVE):
                    started = [PartProcess(part, self.topology, self.state_dir, options=self.options.get(part, ()))
                               for part in wave]
                    with self._lock:
                        self.parts.update({p.part: p for p in started})
                    if started:
                        with ThreadPoolExecutor(max_workers=len(started)) as pool:
                            list(pool.map(lambda p: p.wait_ready(), started))
        except BaseException:
            self.stop()
            raise
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            with self._lock:
                dead = [p for p in self.parts.values() if not p.alive()]
            for part in dead:
                if self._stopping.is_set():
                    return
                exit = PartExit(part.part, part.pid, part.process.returncode)
                self.exits.append(exit)
                if not self.restart:
                    self.report(f"{exit}; not restarted (up --processes --restart restarts parts)")
                    with self._lock:
                        self.parts.pop(part.part, None)
                    continue
                self.report(f"{exit}; restarting it")
                self._restart(part)

    def _restart(self, dead: PartProcess) -> None:
        dead.stop()
        while not self._stopping.is_set():
            again = PartProcess(dead.part, self.topology, self.state_dir, options=self.options.get(dead.part, ()))
            with self._lock:
                self.parts[dead.part] = again
            try:
                again.wait_ready()
            except PartDidNotStart as problem:
                if self._stopping.is_set():
                    return
                self.report(f"{problem}; trying again")
                time.sleep(1.0)
                continue
            self.report(f"{dead.part} restarted (pid {again.pid})")
            return

    def part(self, name: str) -> PartProcess:
        with self._lock:
            return self.parts[name]

    def wait_restarted(self, name: str, old_pid: int, timeout: float = START_SECONDS) -> PartProcess:
        """The part `name` once it listens again in a process other than `old_pid`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                part = self.parts.get(name)
            if part is not None and part.pid != old_pid and part.info:
                return part
            time.sleep(0.05)
        raise TimeoutError(f"{name} was not restarted within {timeout:.0f} s")

    def stop(self) -> None:
        """Stops every part (SIGTERM, then SIGKILL past STOP_SECONDS), vCenters before hosts; a part
        being restarted meanwhile is stopped too."""
        self._stopping.set()
        self._stop_parts()
        if self._watcher.is_alive():
            self._watcher.join()
        self._stop_parts()

    def _stop_parts(self) -> None:
        with self._lock:
            parts = list(self.parts.values())
        for kind in ("vcenter:", "host:"):
            group = [p for p in parts if p.part.startswith(kind)]
            if group:
                with ThreadPoolExecutor(max_workers=len(group)) as pool:
                    list(pool.map(lambda p: p.stop(), group))

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

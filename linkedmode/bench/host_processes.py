"""Hosts in processes of their own (`linkedmode serve`), for tests and benchmarks that need real
process boundaries between the two ends of a vMotion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path


class HostProcess:
    def __init__(self, topology: Path, state_dir: Path, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "linkedmode", "serve", f"host:{name}", "--topology", str(topology), "--state-dir", str(state_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "GRPC_VERBOSITY": "NONE"},
        )
        assert self.process.stdout is not None and self.process.stderr is not None   # both PIPE
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise RuntimeError(f"host {name} did not start: {self.process.stderr.read().strip()}")
        info = json.loads(line)
        self.address: str = info["address"]
        self.vmotion_address: str = info["vmotion_address"]
        self.pid = self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> HostProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

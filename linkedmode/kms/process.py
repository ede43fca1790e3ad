"""A KMS as its own process: `python -m linkedmode.kms.server` on a free loopback port, started with
its TLS credential and the CAs it trusts, and stopped with SIGTERM."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..crypto.files import private_file, private_folder, write_private
from ..crypto.pki import Credential
from .server import CERTIFICATE, KEY, TRUST

START_SECONDS = 60.0       # PyKMIP imports a lot; a busy machine takes its time
STOP_SECONDS = 3.0        # then it is killed: its database commits each change, so nothing is lost


class KmsStartFailed(RuntimeError):
    pass


class KmsProcess:
    """One KMS process. `data_dir` keeps its database, so a KMS started again on it has its keys."""

    def __init__(self, name: str, credential: Credential, trusted_cas: list[bytes], data_dir: Path) -> None:
        self.name = name
        self.credential = credential
        self.trusted_cas = trusted_cas
        self.data_dir = Path(data_dir)
        self.address = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> KmsProcess:
        return self.launch().wait_ready()

    def launch(self) -> KmsProcess:
        """Starts the process and returns at once: `wait_ready` waits for its address."""
        folder = private_folder(self.data_dir)
        write_private(folder / CERTIFICATE, self.credential.cert_pem)
        write_private(folder / KEY, self.credential.key_pem)
        write_private(folder / TRUST, b"".join(self.trusted_cas))
        with open(private_file(folder / "stderr.log"), "wb") as errors:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "linkedmode.kms.server", "--name", self.name, "--data-dir", str(folder)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                start_new_session=True,     # its own process group: PyKMIP's helper processes stop with it
            )
        return self

    def wait_ready(self) -> KmsProcess:
        try:
            self.address = self._read_address()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_address(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + START_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.2):
                    line = self._process.stdout.readline().decode(errors="replace").strip()
                    if line.startswith("listening "):
                        return line.removeprefix("listening ")
                    if not line and self._process.poll() is not None:
                        break
        log = (self.data_dir / "stderr.log").read_text(errors="replace").strip().splitlines()
        raise KmsStartFailed(f"KMS {self.name} did not start: {log[-1] if log else 'no output'}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def kill(self) -> None:
        """As if the KMS went down: no clean stop."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self.stop()

    def __enter__(self) -> KmsProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

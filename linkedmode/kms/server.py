"""A KMS: PyKMIP's KMIP server in this process, on a free loopback port, TLS with a certificate from the
estate's CA, clients required to present a certificate from a CA it trusts.

    python -m linkedmode.kms.server --name kms-shared --data-dir DIR

DIR holds what the server reads and writes, owner-only: ``kms.pem``/``kms.key`` (its TLS credential),
``trust.pem`` (the CAs whose clients it accepts), ``kms.db`` (its keys, in PyKMIP's SQLite store),
``policies/`` and ``kms.log``. The first line on standard output is ``listening HOST:PORT``; SIGTERM stops
it. Keys are created under one operation policy that lets every authenticated client (every vCenter
that trusts this KMS and is trusted by it) get and use them, as the vCenters of one key provider do;
only the vCenter that created a key may destroy it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from ..crypto.files import private_folder, write_private

POLICY = "linkedmode-key-provider"
CERTIFICATE, KEY, TRUST, DATABASE, LOG = "kms.pem", "kms.key", "trust.pem", "kms.db", "kms.log"
# TLS 1.2 suites for ECDSA certificates (the estate's CAs issue P-256 keys)
CIPHER_SUITES = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"

_SHARED = {op: "ALLOW_ALL" for op in ("GET", "GET_ATTRIBUTES", "GET_ATTRIBUTE_LIST", "LOCATE", "ACTIVATE", "CHECK")}
_OWNER = {op: "ALLOW_OWNER" for op in ("REVOKE", "DESTROY", "ADD_ATTRIBUTE", "MODIFY_ATTRIBUTE", "DELETE_ATTRIBUTE")}


def write_policy(data_dir: Path) -> Path:
    folder = private_folder(data_dir / "policies")
    write_private(folder / "key-provider.json", json.dumps({POLICY: {"preset": {"SYMMETRIC_KEY": _SHARED | _OWNER}}}).encode())
    return folder


def serve(data_dir: Path) -> None:
    os.umask(0o077)                           # its database and log are the owner's alone, like the rest of the state
    warnings.simplefilter("ignore")           # PyKMIP imports ciphers cryptography has deprecated
    from kmip.services.server.server import KmipServer

    server = KmipServer(
        hostname="127.0.0.1", port=1, certificate_path=str(data_dir / CERTIFICATE), key_path=str(data_dir / KEY),
        ca_path=str(data_dir / TRUST), auth_suite="TLS1.2", config_path=None, log_path=str(data_dir / LOG),
        policy_path=str(write_policy(data_dir)), enable_tls_client_auth=True, tls_cipher_suites=CIPHER_SUITES,
        logging_level="INFO", live_policies=False, database_path=str(data_dir / DATABASE),
    )
    server.config.settings["port"] = 0        # the configuration refuses 0; the socket takes any free port
    server.start()
    stopping = threading.Event()
    _stop_with_parent(stopping)
    host, port = server._socket.getsockname()[:2]   # PyKMIP keeps its listening socket private
    server._socket.listen(5)                   # before the address is told; serve() listens again, harmlessly
    server._socket.settimeout(0.5)             # so SIGTERM is seen within half a second, not PyKMIP's 10
    print(f"listening {host}:{port}", flush=True)
    try:
        server.serve()                         # returns on SIGINT or SIGTERM
    finally:
        stopping.set()
        server.stop()                          # joins every thread, the parent watch among them


def _stop_with_parent(stopping: threading.Event) -> None:
    """Stops this KMS when the process that started it is gone (killed, not stopped): no orphan KMS."""
    parent = os.getppid()

    def watch() -> None:
        while not stopping.wait(0.5):
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linkedmode.kms.server", description="A KMIP key server (PyKMIP).")
    parser.add_argument("--name", required=True, help="the key provider this KMS serves (for messages)")
    parser.add_argument("--data-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    missing = [f for f in (CERTIFICATE, KEY, TRUST) if not (args.data_dir / f).exists()]
    if missing:
        print(f"KMS {args.name}: {args.data_dir / missing[0]} is missing", file=sys.stderr)
        return 2
    serve(args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

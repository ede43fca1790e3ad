"""A KMS: PyKMIP's KMIP server in this process, TLS with a certificate from the estate's CA, clients
required to present a certificate from a CA it trusts.

    python -m linkedmode.kms.server --name kms-shared --data-dir DIR [--listen HOST:PORT] [--credential-dir CRED]

It listens on a free loopback port unless `--listen` names an address (a host name is resolved, as a
pod binds its own DNS name). DIR holds what the server writes, owner-only: ``kms.db`` (its keys, in
PyKMIP's SQLite store), ``policies/`` and ``kms.log``; CRED (DIR unless given: a pod mounts its Secret
there, read-only) holds what it reads: ``kms.pem``/``kms.key`` (its TLS credential) and ``trust.pem``
(the CAs whose clients it accepts). The first line on standard output is ``listening HOST:PORT``;
SIGTERM stops it. Keys are created under one operation policy that lets every authenticated client
(every vCenter that trusts this KMS and is trusted by it) get and use them, as the vCenters of one key
provider do; only the vCenter that created a key may destroy it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ..crypto.files import private_folder, write_private

POLICY = "linkedmode-key-provider"
POLICY_LOAD_SECONDS = 30.0
CERTIFICATE, KEY, TRUST, DATABASE, LOG = "kms.pem", "kms.key", "trust.pem", "kms.db", "kms.log"
LOOPBACK = ("127.0.0.1", 0)          # what it listens on unless told: a free loopback port
# TLS 1.2 suites for ECDSA certificates (the estate's CAs issue P-256 keys)
CIPHER_SUITES = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"

_SHARED = {op: "ALLOW_ALL" for op in ("GET", "GET_ATTRIBUTES", "GET_ATTRIBUTE_LIST", "LOCATE", "ACTIVATE", "CHECK")}
_OWNER = {op: "ALLOW_OWNER" for op in ("REVOKE", "DESTROY", "ADD_ATTRIBUTE", "MODIFY_ATTRIBUTE", "DELETE_ATTRIBUTE")}


def write_policy(data_dir: Path) -> Path:
    folder = private_folder(data_dir / "policies")
    write_private(folder / "key-provider.json", json.dumps({POLICY: {"preset": {"SYMMETRIC_KEY": _SHARED | _OWNER}}}).encode())
    return folder


class KmsNotReady(RuntimeError):
    """The server started but cannot serve yet (its operation policy did not load)."""


class ListenAddressError(ValueError):
    """An address the KMS cannot listen on: malformed, or taken."""


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT as (host, port); port 0 takes any free port."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ListenAddressError(f"--listen {text!r}: expected HOST:PORT, a port from 0 to 65535")
    return host.strip("[]"), int(port)


def serve(data_dir: Path, listen: tuple[str, int] = LOOPBACK, credential_dir: Path | None = None) -> None:
    os.umask(0o077)                           # its database and log are the owner's alone, like the rest of the state
    warnings.simplefilter("ignore")           # PyKMIP imports ciphers cryptography has deprecated
    from kmip.services.server.server import KmipServer

    credentials = credential_dir or data_dir
    server = KmipServer(
        hostname=listen[0], port=1, certificate_path=str(credentials / CERTIFICATE), key_path=str(credentials / KEY),
        ca_path=str(credentials / TRUST), auth_suite="TLS1.2", config_path=None, log_path=str(data_dir / LOG),
        policy_path=str(write_policy(data_dir)), enable_tls_client_auth=True, tls_cipher_suites=CIPHER_SUITES,
        logging_level="INFO", live_policies=False, database_path=str(data_dir / DATABASE),
    )
    server.config.settings["port"] = listen[1]   # set past the configuration's check, which refuses 0 (any free port)
    from kmip.core.exceptions import NetworkingError
    try:
        server.start()
    except NetworkingError:
        server.policy_monitor.stop()           # started before the bind, it would keep the process alive
        server.policy_monitor.join()
        server._socket.close()
        raise ListenAddressError(f"cannot listen on {listen[0]}:{listen[1]} (see {data_dir / LOG})") from None
    try:
        _wait_for_policy(server.policies, data_dir)
    except KmsNotReady:
        server.stop()
        raise
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


def _wait_for_policy(policies: Any, data_dir: Path) -> None:
    """PyKMIP loads the policy files in a process of its own, after the server starts: a key created
    before it has read ours is refused (PERMISSION_DENIED). The address is told only once it has."""
    deadline = time.monotonic() + POLICY_LOAD_SECONDS
    while POLICY not in policies:
        if time.monotonic() > deadline:
            raise KmsNotReady(f"the operation policy {POLICY} was not loaded in {POLICY_LOAD_SECONDS:g} s "
                              f"(see {data_dir / LOG})")
        time.sleep(0.02)


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
    parser.add_argument("--data-dir", required=True, type=Path, help="where its database, policies and log are")
    parser.add_argument("--credential-dir", type=Path, help=f"where {CERTIFICATE}, {KEY} and {TRUST} are (default: the data dir)")
    parser.add_argument("--listen", default=f"{LOOPBACK[0]}:{LOOPBACK[1]}", metavar="HOST:PORT",
                        help="the address to listen on (default: a free loopback port)")
    args = parser.parse_args(argv)
    try:
        listen = parse_listen(args.listen)
    except ListenAddressError as error:
        print(f"KMS {args.name}: {error}", file=sys.stderr)
        return 2
    credentials = args.credential_dir or args.data_dir
    missing = [f for f in (CERTIFICATE, KEY, TRUST) if not (credentials / f).exists()]
    if missing:
        print(f"KMS {args.name}: {credentials / missing[0]} is missing", file=sys.stderr)
        return 2
    try:
        serve(args.data_dir, listen, args.credential_dir)
    except (ListenAddressError, KmsNotReady) as error:
        print(f"KMS {args.name}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

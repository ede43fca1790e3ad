"""linkedmode up: every part of a topology in this process, until Ctrl-C."""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import threading
from pathlib import Path

from ..crypto.files import private_folder
from ..estate import Estate, start_estate
from ..topology import Topology, default_topology, load_topology
from .common import DEFAULT_STATE_DIR, CommandError
from .output import print_table


def load(path: str | None) -> Topology:
    return load_topology(path) if path else default_topology()


class StateDirLock:
    """One `up` per state directory: two would write the same SQLite files."""

    def __init__(self, state_dir: Path) -> None:
        private_folder(state_dir)
        self.path = state_dir / "up.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise CommandError(f"another `linkedmode up` is running with state directory {state_dir}") from None

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def describe(estate: Estate) -> None:
    rows = []
    for domain in estate.topology.sso_domains:
        for vc in domain.vcenters:
            rows.append((domain.name, "vCenter", vc.name, str(vc.version), estate.vcenters[vc.name].address, ""))
            for host in vc.hosts():
                encrypted = "yes" if estate.hosts[host.name].state.encrypted_vmotion_supported else "no"
                rows.append((domain.name, "host", host.name, str(host.version), estate.hosts[host.name].address, encrypted))
    for kms in estate.topology.kms_servers():
        rows.append((kms.domain, "KMS (KMIP)", kms.name, "PyKMIP", estate.kms[kms.name].address, ""))
    print_table(["SSO DOMAIN", "PART", "NAME", "VERSION", "LISTENS ON (mTLS)", "ENCRYPTED VMOTION"], rows)


def up(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    state_dir: Path = args.state_dir
    os.umask(0o077)   # whatever the parts write (disks, SQLite journals) is the owner's alone
    lock = StateDirLock(state_dir)
    try:
        estate = start_estate(topology, state_dir, ca_dir=args.ca_dir)
        try:
            print(f"linkedmode: {topology.source}, state in {state_dir}")
            describe(estate)
            print()
            print("Try:  linkedmode vm list" + ("" if state_dir == DEFAULT_STATE_DIR else f" --state-dir {state_dir}"))
            print(f"gRPC: CA {estate.pki_dir}/<domain>/ca.pem, user certificate and key "
                  f"{estate.pki_dir}/<domain>/user/<name>.pem and .key; protos in protos/linkedmode/v1")
            print(f"CA keys (for `up` and `certs` only, never for clients): {estate.ca_root}")
            print("Stop with Ctrl-C.", flush=True)
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
        finally:
            estate.stop()
        print("linkedmode: stopped", flush=True)
    finally:
        lock.release()
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("up", help="start every part of a topology (default: the built-in one) until Ctrl-C")
    parser.add_argument("topology", nargs="?", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help=f"where the PKI, inventories and endpoints live (default {DEFAULT_STATE_DIR})")
    parser.add_argument("--ca-dir", type=Path, default=None,
                        help="where the CA keys live (default STATE_DIR/ca); clients never read it")
    parser.set_defaults(handler=up, needs_session=False)

"""linkedmode up: every part of a topology in this process, until Ctrl-C."""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from ..crypto.files import private_folder
from ..estate import Estate, start_estate
from ..heap import freeze_started_heap
from ..logsetup import FORMATS
from ..process_estate import ProcessEstate, start_process_estate
from ..supervisor import PartDidNotStart
from ..topology import Topology, default_topology, default_topology_text, load_topology
from .common import DEFAULT_STATE_DIR, CommandError
from .output import print_table

log = logging.getLogger(__name__)


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
            server = estate.vcenters[vc.name]
            log.info("vCenter %s listens on %s, metrics on %s", vc.name, server.address, server.vcenter.metrics_url)
            rows.append((domain.name, "vCenter", vc.name, str(vc.version), server.address, "", server.vcenter.metrics_url))
            for host in vc.hosts():
                part = estate.hosts[host.name]
                log.info("host %s listens on %s, metrics on %s", host.name, part.address, part.metrics_url)
                encrypted = "yes" if part.state.encrypted_vmotion_supported else "no"
                rows.append((domain.name, "host", host.name, str(host.version), part.address, encrypted, part.metrics_url))
    for kms in estate.topology.kms_servers():
        rows.append((kms.domain, "KMS (KMIP)", kms.name, "PyKMIP", estate.kms[kms.name].address, "", ""))
    print_table(["SSO DOMAIN", "PART", "NAME", "VERSION", "LISTENS ON (mTLS)", "ENCRYPTED VMOTION", "METRICS"], rows)


def describe_processes(estate: ProcessEstate) -> None:
    rows = []
    for domain in estate.topology.sso_domains:
        for vc in domain.vcenters:
            info = estate.info("vcenter", vc.name)
            rows.append((domain.name, "vCenter", vc.name, str(info["pid"]), info["address"], "", info.get("metrics", "")))
            for host in vc.hosts():
                info = estate.info("host", host.name)
                rows.append((domain.name, "host", host.name, str(info["pid"]), info["address"], info["vmotion_address"],
                             info.get("metrics", "")))
    for kms in estate.topology.kms_servers():
        process = estate.kms[kms.name]
        rows.append((kms.domain, "KMS (KMIP)", kms.name, str(process.pid), process.address, "", ""))
    print_table(["SSO DOMAIN", "PART", "NAME", "PID", "LISTENS ON (mTLS)", "VMOTION", "METRICS"], rows)


def start(args: argparse.Namespace, topology: Topology) -> tuple[Estate | ProcessEstate, Callable[[], None]]:
    """The estate `up` runs, in this process or as one process per part, and how to describe it."""
    if not args.processes:
        estate = start_estate(topology, args.state_dir, ca_dir=args.ca_dir)
        return estate, lambda: describe(estate)
    text = Path(args.topology).read_text(encoding="utf-8") if args.topology else default_topology_text()
    try:
        processes = start_process_estate(text, args.state_dir, ca_dir=args.ca_dir, restart=args.restart,
                                         report=lambda line: print(f"linkedmode: {line}", flush=True))
    except (ValueError, PartDidNotStart) as problem:
        raise CommandError(str(problem)) from None
    return processes, lambda: describe_processes(processes)


def up(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    state_dir: Path = args.state_dir
    if args.restart and not args.processes:
        raise CommandError("--restart restarts parts that run as processes: use it with --processes")
    os.umask(0o077)   # whatever the parts write (disks, SQLite journals) is the owner's alone
    lock = StateDirLock(state_dir)
    try:
        estate, show = start(args, topology)
        try:
            print(f"linkedmode: {topology.source}, state in {state_dir}")
            show()
            print()
            print("Try:  linkedmode vm list" + ("" if state_dir == DEFAULT_STATE_DIR else f" --state-dir {state_dir}"))
            print(f"gRPC: CA {estate.pki_dir}/<domain>/ca.pem, user certificate and key "
                  f"{estate.pki_dir}/<domain>/user/<name>.pem and .key; protos in protos/linkedmode/v1")
            print(f"CA keys (for `up` and `certs` only, never for clients): {estate.ca_root}")
            print("Stop with Ctrl-C.", flush=True)
            freeze_started_heap()
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
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="text (default) or json: one JSON object per line on standard error")
    parser.add_argument("--processes", action="store_true",
                        help="every vCenter and every host in an OS process of its own, supervised")
    parser.add_argument("--restart", action="store_true", help="with --processes: start a part that died again")
    parser.set_defaults(handler=up, needs_session=False)

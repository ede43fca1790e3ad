"""linkedmode serve: some parts of a topology in this process, the rest elsewhere.

    linkedmode serve --part host:esx-a1 [--part host:esx-a2] [TOPOLOGY] --state-dir DIR

Each part listens where the topology says (port 0: any free port) and one JSON line per part on
standard output says where, so that a parent process can wire the parts together. The PKI must be in
the state directory already (`linkedmode certs init DIR`, or a `linkedmode up` before). Hosts only
for now: a vCenter in its own process needs its hosts' addresses fixed in the topology.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path

from ..crypto.domain_pki import Pki
from ..crypto.identity import Identity
from ..host.server import HostServer
from ..logsetup import FORMATS
from .common import DEFAULT_STATE_DIR, CommandError
from .up import load


def host_servers(args: argparse.Namespace) -> list[HostServer]:
    topology = load(args.topology)
    pki = Pki(Path(args.state_dir) / "pki")
    hosts = {h.name: (domain.name, vc.name, h) for domain, vc in topology.vcenters() for h in vc.hosts()}
    servers = []
    for part in args.part:
        kind, _, name = part.partition(":")
        if kind != "host":
            raise CommandError(f"--part {part!r}: only host parts can be served on their own (host:NAME)")
        if name not in hosts:
            raise CommandError(f"--part {part!r}: the topology has no host {name!r} (it has {', '.join(sorted(hosts))})")
        domain, vcenter, spec = hosts[name]
        servers.append(HostServer(spec, domain, vcenter, pki.credential(Identity(domain, "host", name)),
                                  kill=lambda: os._exit(137)))
    return servers


def serve(args: argparse.Namespace) -> int:
    servers = host_servers(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        for server in servers:
            server.start()
            assert server.migrations is not None
            print(json.dumps({"part": f"host:{server.name}", "address": server.address,
                              "vmotion_address": server.migrations.vmotion_address, "metrics": server.metrics_url}), flush=True)
        stop.wait()
    finally:
        for server in servers:
            server.stop()
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("serve", help="serve some parts of a topology in this process (hosts)")
    parser.add_argument("topology", nargs="?", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--part", action="append", required=True, metavar="host:NAME", help="a part to serve; repeat for more")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where the PKI is (DIR/pki)")
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="text (default) or json: one JSON object per line on standard error")
    parser.set_defaults(handler=serve, needs_session=False)

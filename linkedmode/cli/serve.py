"""linkedmode serve: some parts of a topology in this process, the others wherever the topology says.

    linkedmode serve vcenter:vc-a --topology FILE --state-dir DIR
    linkedmode serve host:esx-a1 [host:esx-a2 ...] --topology FILE --state-dir DIR

Each part listens where the topology says (a host's vMotion interface apart from its management
address) and finds the others at their topology addresses, names or IPs, so an estate can be spread
over processes and machines. Port 0 is any free port, which only a host can take here: a vCenter
dials its hosts and its peers, so theirs must be fixed (`up --processes` fixes them before it starts
the parts). One JSON line per part on standard output says where it listens, once it does.

The PKI must be in `DIR/pki` (`linkedmode certs init DIR`, or `up` before). A vCenter keeps its
inventory in `DIR/vcenters/<name>.db`: started again, it links again with its peers and settles the
migrations its journal holds. Topology fault rules are installed on a vCenter's first start only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..crypto.domain_pki import Pki
from ..crypto.identity import Identity
from ..estate import vcenter_database, vcenter_server
from ..heap import freeze_started_heap
from ..host.server import HostServer
from ..logsetup import FORMATS
from ..model.fault_rules import FaultInjector
from ..topology.addresses import join_address, listen_address, split_address
from ..topology.spec import Topology, VCenterSpec, is_native_key_provider
from ..vcenter.host_watch import reconnect_returned_hosts
from ..vcenter.server import VCenterServer
from .common import DEFAULT_STATE_DIR, CommandError
from .up import load

KILLED_EXIT = 137    # what a "kill" fault rule exits with, as a SIGKILLed process reports


def die() -> None:
    os._exit(KILLED_EXIT)


@dataclass
class Parts:
    """The parts this process serves, in start order: hosts, then vCenters."""

    hosts: list[HostServer] = field(default_factory=list)
    vcenters: list[VCenterServer] = field(default_factory=list)
    fresh: set[str] = field(default_factory=set)     # vCenters whose database was made by this start


def parse_part(part: str) -> tuple[str, str]:
    kind, colon, name = part.partition(":")
    if not colon or kind not in ("vcenter", "host") or not name:
        raise CommandError(f"part {part!r}: expected vcenter:NAME or host:NAME")
    return kind, name


def fixed(address: str, what: str, by: str) -> str:
    if split_address(address)[1] == 0:
        raise CommandError(f"{what} has port 0 in the topology, and {by} must know where to dial it: "
                           f"give it a port (`linkedmode up --processes` gives every part one)")
    return address


def kms_addresses(options: list[str]) -> dict[str, str]:
    """`--kms NAME=HOST:PORT` options, by name."""
    found = {}
    for option in options:
        name, equals, address = option.partition("=")
        if not equals or not name or not address:
            raise CommandError(f"--kms {option!r}: expected NAME=HOST:PORT (a Standard Key Provider and its KMS)")
        found[name] = address
    return found


def kms_for(spec: VCenterSpec, kms: dict[str, str]) -> dict[str, str]:
    """The KMS of each Standard Key Provider the vCenter uses: every one must be given."""
    missing = [p for p in spec.key_providers if not is_native_key_provider(p) and p not in kms]
    if missing:
        raise CommandError(f"vCenter {spec.name} uses the Standard Key Provider {missing[0]!r}: give its KMS with "
                           f"--kms {missing[0]}=HOST:PORT (`linkedmode up --processes` starts it and does)")
    return {p: kms[p] for p in spec.key_providers if p in kms}


def build_parts(topology: Topology, state_dir: Path, names: list[str], kms: dict[str, str] | None = None) -> Parts:
    kms = kms or {}
    pki = Pki(state_dir / "pki")
    hosts = {h.name: (domain.name, vc.name, h) for domain, vc in topology.vcenters() for h in vc.hosts()}
    vcenters = {vc.name: vc for _, vc in topology.vcenters()}
    parts = Parts()
    for part in dict.fromkeys(names):
        kind, name = parse_part(part)
        if kind == "host":
            if name not in hosts:
                raise CommandError(f"part {part!r}: the topology has no host {name!r} (it has {', '.join(sorted(hosts))})")
            domain, vcenter, spec = hosts[name]
            parts.hosts.append(HostServer(spec, domain, vcenter, pki.credential(Identity(domain, "host", name)), kill=die))
            continue
        if name not in vcenters:
            raise CommandError(f"part {part!r}: the topology has no vCenter {name!r} (it has {', '.join(sorted(vcenters))})")
        addresses = {h.name: fixed(h.address, f"host {h.name}", f"vCenter {name}") for h in vcenters[name].hosts()}
        database = vcenter_database(state_dir, name)
        if not database.exists() or database.stat().st_size == 0:
            parts.fresh.add(name)
        server = vcenter_server(topology, state_dir, name, addresses, kms_addresses=kms_for(vcenters[name], kms))
        server.vcenter.faults = FaultInjector(name, kill=die)
        parts.vcenters.append(server)
    return parts


def peer_addresses(topology: Topology, vcenter: VCenterServer) -> dict[str, str]:
    domain = topology.domain(vcenter.domain.name)
    return {vc.name: fixed(vc.address, f"vCenter {vc.name}", f"its peer {vcenter.name}")
            for vc in domain.vcenters if vc.name != vcenter.name}


def start_host(server: HostServer) -> dict[str, Any]:
    spec = server.state.spec
    vmotion_listen, _ = split_address(listen_address(spec.vmotion.address))
    server.start(listen_address(spec.address), vmotion_listen_host=vmotion_listen)
    assert server.migrations is not None
    return {"part": f"host:{server.name}", "pid": os.getpid(), "address": advertised(spec.address, server.address),
            "vmotion_address": server.migrations.vmotion_address, "metrics": server.metrics_url}


def start_vcenter(topology: Topology, server: VCenterServer, fresh: bool) -> dict[str, Any]:
    """Starts a vCenter, links it with the peers that answer, settles its journal, and keeps linking
    with those that did not answer yet (each peer that starts later says hello itself, too) and
    connecting again the hosts that come back after a restart."""
    spec = server.vcenter.spec
    server.start(listen_address(spec.address))
    server.vcenter.url = advertised(spec.address, server.address)
    peers = peer_addresses(topology, server)
    server.link(peers)
    server.recover()
    if fresh:
        server.vcenter.install_topology_fault_rules()

    def link_the_missing() -> None:
        linked = {p.name for p in server.vcenter.peers()}
        missing = {name: address for name, address in peers.items() if name not in linked}
        if missing and server.vcenter.alive:
            server.link(missing)

    server.vcenter.reaper.every(server.vcenter.timeouts.settle_interval, link_the_missing, name="link with peers")

    def reconnect_hosts() -> None:
        reconnect_returned_hosts(server.vcenter)

    server.vcenter.reaper.every(server.vcenter.timeouts.settle_interval, reconnect_hosts, name="reconnect hosts that came back")
    return {"part": f"vcenter:{server.name}", "pid": os.getpid(), "address": server.vcenter.url,
            "instance_uuid": server.vcenter.instance_uuid, "login_address": server.vcenter.login_url,
            "metrics": server.vcenter.metrics_url}


def advertised(topology_address: str, bound: str) -> str:
    """Where others dial a part: its topology address, with the port it bound when that was 0."""
    host, port = split_address(topology_address)
    return topology_address if port else join_address(host, split_address(bound)[1])


def serve(args: argparse.Namespace) -> int:
    names = list(args.parts) + list(args.part or [])
    if not names:
        raise CommandError("name at least one part to serve: vcenter:NAME or host:NAME")
    topology = load(args.topology)
    parts = build_parts(topology, Path(args.state_dir), names, kms_addresses(args.kms or []))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        for host in parts.hosts:
            print(json.dumps(start_host(host)), flush=True)
        for vcenter in parts.vcenters:
            print(json.dumps(start_vcenter(topology, vcenter, vcenter.name in parts.fresh)), flush=True)
        freeze_started_heap()
        stop.wait()
    finally:
        for vcenter in parts.vcenters:
            vcenter.stop()
        for host in parts.hosts:
            host.stop()
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("serve", help="serve some parts of a topology in this process (vCenters, hosts)")
    parser.add_argument("parts", nargs="*", metavar="PART", help="vcenter:NAME or host:NAME; several may be given")
    parser.add_argument("--topology", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--part", action="append", metavar="PART", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help="where the PKI (DIR/pki) and a vCenter's inventory (DIR/vcenters) are")
    parser.add_argument("--kms", action="append", metavar="NAME=HOST:PORT",
                        help="the KMS of a Standard Key Provider a vCenter part uses; repeat for more")
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="text (default) or json: one JSON object per line on standard error")
    parser.set_defaults(handler=serve, needs_session=False)

"""linkedmode health: is a part serving? Asks its listener grpc.health.v1 over mutual TLS, as the part itself.

    linkedmode health vcenter:NAME|host:NAME [--topology FILE] --state-dir DIR [--service NAME]

Exit status 0 when the part answers SERVING, 1 otherwise (what a Kubernetes exec probe wants). It
reads the part's own credential from DIR/pki, so it runs where the part runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ..crypto.domain_pki import Pki
from ..crypto.identity import Identity
from ..rpc.tls import secure_channel
from ..topology.spec import Topology
from .common import DEFAULT_STATE_DIR, CommandError
from .up import load

DEFAULT_TIMEOUT = 5.0


def part_address(topology: Topology, part: str) -> tuple[Identity, str]:
    """The identity of `part` (vcenter:NAME or host:NAME) and the address it listens on."""
    kind, _, name = part.partition(":")
    found: dict[tuple[str, str], tuple[Identity, str]] = {}
    for domain, vc in topology.vcenters():
        found[("vcenter", vc.name)] = (Identity(domain.name, "vcenter", vc.name), vc.address)
        for h in vc.hosts():
            found[("host", h.name)] = (Identity(domain.name, "host", h.name), h.address)
    if kind not in ("vcenter", "host") or not name:
        raise CommandError(f"{part!r} is not a part: write vcenter:NAME or host:NAME")
    if (kind, name) not in found:
        known = ", ".join(sorted(f"{k}:{n}" for k, n in found))
        raise CommandError(f"the topology has no {kind} {name!r} (it has {known})")
    return found[(kind, name)]


def check_health(address: str, identity: Identity, pki: Pki, *, service: str = "", timeout: float = DEFAULT_TIMEOUT) -> str:
    """The status the part at `address` gives `service`, asked with the part's own credential."""
    channel = secure_channel(address, pki.credential(identity), identity)
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.RpcError as error:
        return f"{error.code().name}: {error.details()}"
    finally:
        channel.close()
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def health(args: argparse.Namespace) -> int:
    identity, address = part_address(load(args.topology), args.part)
    if address.endswith(":0"):
        raise CommandError(f"{args.part} listens on {address}: any free port, so its address is known only where it started")
    status = check_health(address, identity, Pki(Path(args.state_dir) / "pki"), service=args.service, timeout=args.timeout)
    print(f"{args.part} at {address}: {status}")
    return 0 if status == "SERVING" else 1


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("health", help="ask a part's grpc.health.v1 over mutual TLS with its own credential (a probe)")
    parser.add_argument("part", metavar="PART", help="vcenter:NAME or host:NAME")
    parser.add_argument("--topology", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where the part's credential is (DIR/pki)")
    parser.add_argument("--service", default="", help="a service name to ask about (default: the whole server)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds to wait (default {DEFAULT_TIMEOUT:g})")
    parser.set_defaults(handler=health, needs_session=False)

"""Is a part serving? Asks its listener grpc.health.v1 over mutual TLS, as the part itself: a pod's probe.

    python -m linkedmode.deploy.probe vcenter:NAME|host:NAME --topology FILE --state-dir DIR [--service NAME]

Exit status 0 when the part answers SERVING, 1 otherwise, with one line saying what it answered. It
reads the part's own credential from DIR/pki, so it runs where the part runs. `linkedmode health` is
the same check; this entry point loads only what the check needs (about a third of the command
line's start-up), since the kubelet runs it every few seconds in every pod.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ..crypto.domain_pki import Pki
from ..crypto.identity import Identity
from ..rpc.tls import secure_channel
from ..topology import TopologyError, default_topology, load_topology
from ..topology.spec import Topology

DEFAULT_TIMEOUT = 5.0


class ProbeError(Exception):
    """The probe cannot ask: an unknown part, or one without a fixed address."""


def part_address(topology: Topology, part: str) -> tuple[Identity, str]:
    """The identity of `part` (vcenter:NAME or host:NAME) and the address it listens on."""
    kind, _, name = part.partition(":")
    found: dict[tuple[str, str], tuple[Identity, str]] = {}
    for domain, vc in topology.vcenters():
        found[("vcenter", vc.name)] = (Identity(domain.name, "vcenter", vc.name), vc.address)
        for h in vc.hosts():
            found[("host", h.name)] = (Identity(domain.name, "host", h.name), h.address)
    if kind not in ("vcenter", "host") or not name:
        raise ProbeError(f"{part!r} is not a part: write vcenter:NAME or host:NAME")
    if (kind, name) not in found:
        known = ", ".join(sorted(f"{k}:{n}" for k, n in found))
        raise ProbeError(f"the topology has no {kind} {name!r} (it has {known})")
    identity, address = found[(kind, name)]
    if address.endswith(":0"):
        raise ProbeError(f"{part} listens on {address}: any free port, so its address is known only where it started")
    return identity, address


def check_health(address: str, identity: Identity, pki: Pki, *, service: str = "", timeout: float = DEFAULT_TIMEOUT) -> str:
    """The status the part at `address` gives `service` ("SERVING", ...) or the gRPC error, asked with the part's own credential."""
    channel = secure_channel(address, pki.credential(identity), identity)
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.RpcError as error:
        return f"{error.code().name}: {error.details()}"
    finally:
        channel.close()
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def probe(part: str, topology: Topology, state_dir: Path, *, service: str = "", timeout: float = DEFAULT_TIMEOUT) -> tuple[bool, str]:
    """(serving?, one line saying what the part answered)."""
    identity, address = part_address(topology, part)
    status = check_health(address, identity, Pki(Path(state_dir) / "pki"), service=service, timeout=timeout)
    return status == "SERVING", f"{part} at {address}: {status}"


def add_arguments(parser: argparse.ArgumentParser, default_state_dir: Path) -> None:
    parser.add_argument("part", metavar="PART", help="vcenter:NAME or host:NAME")
    parser.add_argument("--topology", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir, help="where the part's credential is (DIR/pki)")
    parser.add_argument("--service", default="", help="a service name to ask about (default: the whole server)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds to wait (default {DEFAULT_TIMEOUT:g})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linkedmode.deploy.probe", description=__doc__.splitlines()[0])
    add_arguments(parser, Path("/var/lib/linkedmode"))
    args = parser.parse_args(argv)
    try:
        topology = load_topology(args.topology) if args.topology else default_topology()
        serving, line = probe(args.part, topology, args.state_dir, service=args.service, timeout=args.timeout)
    except TopologyError as error:
        print(f"linkedmode probe: bad topology: {error}", file=sys.stderr)
        return 2
    except (ProbeError, FileNotFoundError) as error:
        print(f"linkedmode probe: {error}", file=sys.stderr)
        return 1
    print(line)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where the parts of a topology are: the names and IPs they are dialled at, where they listen, and
free ports given to the parts that asked for "any" (port 0) before they are started apart.

A part's address in the topology is where the others dial it: an IP or a DNS name, with a port. A
part started on its own listens on that IP when it is one of this machine's, and on every interface
otherwise (a name that resolves to a load balancer or a Kubernetes Service is not bindable).
"""

from __future__ import annotations

import contextlib
import errno
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .generate import expand
from .spec import Topology

ANY_HOSTS = ("", "0.0.0.0", "::", "[::]")   # a wildcard listens everywhere and names nothing to dial
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def split_address(address: str) -> tuple[str, int]:
    """("10.0.0.5", 8443) of "10.0.0.5:8443"; an IPv6 host loses its brackets."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def part_names(topology: Topology) -> dict[tuple[str, str], tuple[str, ...]]:
    """(kind, name) -> the DNS names and IPs the topology dials a part at (management and vMotion)."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for _, vc in topology.vcenters():
        found[("vcenter", vc.name)] = _dialled(vc.address)
        for host in vc.hosts():
            found[("host", host.name)] = _dialled(host.address, host.vmotion.address)
    return found


def _dialled(*addresses: str) -> tuple[str, ...]:
    names: list[str] = []
    for address in addresses:
        host, _ = split_address(address)
        if host not in ANY_HOSTS and host not in names:
            names.append(host)
    return tuple(names)


def is_local(host: str) -> bool:
    """Whether this machine can listen on `host` (one of its own IPs, or a name resolving to one)."""
    if host in ANY_HOSTS:
        return True
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    for family, kind, proto, _, sockaddr in infos:
        with contextlib.suppress(OSError), socket.socket(family, kind, proto) as probe:
            probe.bind((sockaddr[0], 0))
            return True
    return False


def listen_address(address: str) -> str:
    """Where a part whose topology address is `address` listens: that address when this machine has
    it, else the same port on every interface."""
    host, port = split_address(address)
    return address if is_local(host) else join_address("0.0.0.0", port)


# -- free ports for parts started apart -------------------------------------------------------------


PLACED_PORTS_FROM = 10000


def ephemeral_ports_from() -> int:
    """Where the kernel's ports for `bind(port 0)` begin (Linux: ip_local_port_range; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@contextlib.contextmanager
def _reserved_ports() -> Iterator[Any]:
    """Finds a free port per call of the function it yields, holding each socket until the end, so
    that no two parts get the same port. The ports are taken below the kernel's ephemeral range: a
    port placed here stays free until its part binds it, whatever other programs bind to port 0
    meanwhile (the kernel gives those from the ephemeral range only)."""
    held: list[socket.socket] = []
    below = max(ephemeral_ports_from(), PLACED_PORTS_FROM + 1000)

    def free_port(host: str) -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for _ in range(500):
            port = random.randrange(PLACED_PORTS_FROM, below)
            probe = socket.socket(family, socket.SOCK_STREAM)
            try:
                probe.bind((host, port))
            except OSError as error:
                probe.close()
                if error.errno == errno.EADDRINUSE:
                    continue
                raise ValueError(f"cannot pick a free port on {host!r} ({error.strerror or error}): "
                                 f"give the part a port of its own in the topology") from None
            held.append(probe)
            return port
        raise ValueError(f"no free port on {host!r} between {PLACED_PORTS_FROM} and {below}: "
                         f"give the part a port of its own in the topology")

    try:
        yield free_port
    finally:
        for probe in held:
            probe.close()


def place_ports(document: object) -> object:
    """The raw YAML document of a topology with every address whose port is 0 (or that is left out,
    which means 127.0.0.1:0) given a free port of its host, so that parts in separate processes can be
    told where the others are before any of them starts. Other fields are kept as they are."""
    if not isinstance(document, dict):
        return document
    with _reserved_ports() as free_port:
        def place(node: dict[str, Any], key: str) -> None:
            value = node.get(key, "127.0.0.1:0")
            if not isinstance(value, str) or not value.endswith(":0"):
                return
            host, _ = split_address(value)
            node[key] = join_address(host, free_port(host))

        for domain in _dicts(document.get("sso_domains")):
            for vcenter in _dicts(domain.get("vcenters")):
                place(vcenter, "address")
                for datacenter in _dicts(vcenter.get("datacenters")):
                    for cluster in _dicts(datacenter.get("clusters")):
                        for host in _dicts(cluster.get("hosts")):
                            place(host, "address")
                            vmotion = host.setdefault("vmotion", {})
                            if isinstance(vmotion, dict):
                                place(vmotion, "address")
    return document


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def placed_topology_text(text: str, source: str = "<topology>") -> str:
    """`place_ports` on a topology's YAML text, its `generate:` written out first (each part of the
    estate must find every other part's port in it); the result is YAML again. libyaml reads and
    writes it where PyYAML has it: a generated estate of 5,000 VMs is 0.7 MB of YAML."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    document = expand(yaml.load(text, Loader=loader), source)   # a safe loader: libyaml's or PyYAML's
    return yaml.dump(place_ports(document), Dumper=dumper, sort_keys=False)

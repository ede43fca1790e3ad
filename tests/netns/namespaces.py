"""Hosts in Linux network namespaces of their own, joined by veth links through two bridges: one for
management (which the vCenters, in the root namespace, reach) and one for vMotion (which only the
hosts reach). Needs root, `ip` and `tc`; every name starts with PREFIX, so leftovers of a run that
died can be found and removed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

PREFIX = "lmproc-"
MANAGEMENT_NET = "10.231.0"
VMOTION_NET = "10.232.0"
MANAGEMENT_BRIDGE = f"{PREFIX}mgmt"
VMOTION_BRIDGE = f"{PREFIX}vmo"

# tc tbf shapes of a vMotion link: rate, and a burst large enough for the rate at the kernel's timer
SHAPES = {"100Mb": ("100mbit", "64kb"), "1GbE": ("1gbit", "256kb"), "10GbE": ("10gbit", "2mb")}


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def unavailable() -> str | None:
    """Why the network-namespace tests cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "creating network namespaces, veth links and tc qdiscs needs root"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"needs {' and '.join(missing)} (iproute2)"
    probe = f"{PREFIX}probe"
    made = ip("netns", "add", probe, check=False)
    ip("netns", "delete", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace here: {made.stderr.strip()}"
    return None


def remove_leftovers() -> None:
    """Every namespace and link of ours, from this run or one that died before cleaning up."""
    for line in ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            ip("netns", "delete", name, check=False)
    for line in ip("-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(PREFIX):
            ip("link", "delete", name, check=False)


@dataclass(frozen=True)
class HostNetwork:
    name: str           # the host's name in the topology
    index: int          # its last octet on both networks

    @property
    def namespace(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def management_ip(self) -> str:
        return f"{MANAGEMENT_NET}.{self.index}"

    @property
    def vmotion_ip(self) -> str:
        return f"{VMOTION_NET}.{self.index}"

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]

    def shape_vmotion(self, shape: str) -> None:
        """tc tbf on the host's vMotion interface (what it sends), replacing any shape before."""
        rate, burst = SHAPES[shape]
        subprocess.run(["ip", "netns", "exec", self.namespace, "tc", "qdisc", "replace", "dev", "vmotion0", "root",
                        "tbf", "rate", rate, "burst", burst, "latency", "50ms"], check=True, capture_output=True, timeout=30)


    def vmotion_bytes_shaped(self) -> int:
        """Bytes the tc qdisc on the host's vMotion interface has sent (`tc -s qdisc`: "Sent N bytes")."""
        shown = subprocess.run(["ip", "netns", "exec", self.namespace, "tc", "-s", "qdisc", "show", "dev", "vmotion0"],
                               check=True, capture_output=True, text=True, timeout=30).stdout.split()
        return int(shown[shown.index("Sent") + 1])


def build(hosts: list[HostNetwork]) -> None:
    """Two bridges in the root namespace (management with an address, vMotion without), and each host
    in its namespace with one veth on each."""
    for bridge in (MANAGEMENT_BRIDGE, VMOTION_BRIDGE):
        ip("link", "add", bridge, "type", "bridge")
        ip("link", "set", bridge, "up")
    ip("addr", "add", f"{MANAGEMENT_NET}.1/24", "dev", MANAGEMENT_BRIDGE)
    for host in hosts:
        ip("netns", "add", host.namespace)
        ip("-n", host.namespace, "link", "set", "lo", "up")
        for bridge, inside, address, tag in ((MANAGEMENT_BRIDGE, "mgmt0", host.management_ip, "m"),
                                             (VMOTION_BRIDGE, "vmotion0", host.vmotion_ip, "v")):
            outside = f"{PREFIX}{tag}{host.index}"
            ip("link", "add", outside, "type", "veth", "peer", "name", inside, "netns", host.namespace)
            ip("link", "set", outside, "master", bridge)
            ip("link", "set", outside, "up")
            ip("-n", host.namespace, "addr", "add", f"{address}/24", "dev", inside)
            ip("-n", host.namespace, "link", "set", inside, "up")

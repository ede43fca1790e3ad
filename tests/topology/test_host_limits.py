"""The `limits` of a host: what its vMotion listener allows before a connection authenticates."""

from __future__ import annotations

import pytest

from linkedmode.topology import TopologyError, default_topology, parse_topology
from linkedmode.topology.spec import HostLimits

HOST = "sso_domains[0].vcenters[0].datacenters[0].clusters[0].hosts[0]"


def topology_with(limits: object) -> dict:
    host: dict = {"name": "esx-a1", "version": "7.0.3"}
    if limits is not None:
        host["limits"] = limits
    return {"sso_domains": [{"name": "vsphere.local", "vcenters": [{
        "name": "vc-a", "version": "7.0.3",
        "datacenters": [{"name": "dc-a", "clusters": [{"name": "cluster-a", "hosts": [host]}]}]}]}]}


def host_limits(limits: object) -> HostLimits:
    return parse_topology(topology_with(limits), "topology.yaml").vcenters()[0][1].hosts()[0].limits


def test_limits_have_defaults() -> None:
    assert host_limits(None) == HostLimits() == HostLimits(vmotion_unauthenticated_connections=64,
                                                           vmotion_connections_per_source=8, vmotion_hello_seconds=5.0)
    assert all(h.limits == HostLimits() for _, vc in default_topology().vcenters() for h in vc.hosts())


def test_limits_are_read() -> None:
    assert host_limits({"vmotion_unauthenticated_connections": 16, "vmotion_connections_per_source": 2,
                        "vmotion_hello_seconds": 1.5}) == HostLimits(vmotion_unauthenticated_connections=16,
                                                                     vmotion_connections_per_source=2, vmotion_hello_seconds=1.5)
    assert host_limits({"vmotion_hello_seconds": 3}) == HostLimits(vmotion_hello_seconds=3.0)


@pytest.mark.parametrize("limits, field, problem", [
    ({"vmotion_unauthenticated_connections": 0}, "vmotion_unauthenticated_connections",
     "expected a positive integer, got 0 (an integer)"),
    ({"vmotion_connections_per_source": "8"}, "vmotion_connections_per_source", "expected a positive integer, got '8' (a string)"),
    ({"vmotion_hello_seconds": 0}, "vmotion_hello_seconds", "expected a number >= 0.1, got 0 (an integer)"),
    ({"vmotion_hello_seconds": True}, "vmotion_hello_seconds", "expected a number >= 0.1, got true (a boolean)"),
    ({"vmotion_connections": 4}, "vmotion_connections", "unknown key; allowed: calls_per_principal"),
    ([1], "", "expected a mapping, got a list"),
])
def test_a_bad_limit_is_one_line_naming_the_field(limits: object, field: str, problem: str) -> None:
    with pytest.raises(TopologyError) as caught:
        host_limits(limits)
    message = str(caught.value)
    path = f"{HOST}.limits.{field}" if field else f"{HOST}.limits"
    assert "\n" not in message and message.startswith(f"topology.yaml: {path}: "), message
    assert problem in message


def test_a_running_host_applies_its_limits_to_its_vmotion_listener() -> None:
    from linkedmode.estate import start_estate
    from linkedmode.vmotion.handshake import VMotionLimits

    limits = {"vmotion_unauthenticated_connections": 5, "vmotion_connections_per_source": 1, "vmotion_hello_seconds": 0.5}
    with start_estate(parse_topology(topology_with(limits), "topology.yaml")) as estate:
        migrations = estate.hosts["esx-a1"].migrations
        assert migrations is not None
        assert migrations.listener.limits == VMotionLimits(5, 1, 0.5)

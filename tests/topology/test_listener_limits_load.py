"""The `limits:` of a vCenter and of a host: defaults, values, and one line naming a bad field."""

from __future__ import annotations

import copy

import pytest
import yaml

from linkedmode.topology import TopologyError, default_topology_text, parse_topology
from linkedmode.topology.spec import HostLimits, ListenerLimits

VC = "sso_domains[0].vcenters[0]"
HOST = f"{VC}.datacenters[0].clusters[0].hosts[0]"


def data_with(vcenter_limits: object = None, host_limits: object = None) -> dict:
    data = copy.deepcopy(yaml.safe_load(default_topology_text()))
    vcenter = data["sso_domains"][0]["vcenters"][0]
    if vcenter_limits is not None:
        vcenter["limits"] = vcenter_limits
    if host_limits is not None:
        vcenter["datacenters"][0]["clusters"][0]["hosts"][0]["limits"] = host_limits
    return data


def first_vcenter(data: dict):
    return parse_topology(data, "topology.yaml").sso_domains[0].vcenters[0]


def test_limits_default_when_left_out():
    vc = first_vcenter(data_with())
    assert vc.limits == ListenerLimits() and vc.hosts()[0].limits == HostLimits()
    assert ListenerLimits().streams_per_principal == 16 and ListenerLimits().max_message_bytes == 4 << 20


def test_limits_of_a_vcenter_and_a_host_are_read():
    vc = first_vcenter(data_with({"streams_per_principal": 4, "idle_seconds": 30, "max_message_bytes": 65536,
                                  "handshake_seconds": 2.5},
                                 {"peer_workers": 32, "keepalive_seconds": 20}))
    assert vc.limits == ListenerLimits(streams_per_principal=4, idle_seconds=30.0, max_message_bytes=65536,
                                       handshake_seconds=2.5)
    assert vc.hosts()[0].limits == HostLimits(peer_workers=32, keepalive_seconds=20.0)   # and the vMotion port's defaults


@pytest.mark.parametrize(("vcenter_limits", "host_limits", "problem"), [
    ({"calls_per_principal": 0}, None, f"{VC}.limits.calls_per_principal: expected a positive integer, got 0 (an integer)"),
    ({"streams_per_principal": "many"}, None,
     f"{VC}.limits.streams_per_principal: expected a positive integer, got 'many' (a string)"),
    ({"max_message_bytes": 100}, None, f"{VC}.limits.max_message_bytes: expected an integer >= 1024, got 100 (an integer)"),
    ({"idle_seconds": 0.5}, None, f"{VC}.limits.idle_seconds: expected a number >= 1, got 0.5 (a number)"),
    ({"handshake_seconds": 0}, None, f"{VC}.limits.handshake_seconds: expected a number >= 0.5, got 0 (an integer)"),
    ({"threads": 4}, None, f"{VC}.limits.threads: unknown key; allowed: calls_per_principal, streams_per_principal"),
    (None, {"user_workers": -1}, f"{HOST}.limits.user_workers: expected a positive integer, got -1 (an integer)"),
    (None, [1, 2], f"{HOST}.limits: expected a mapping, got a list"),
])
def test_a_bad_limit_is_one_line_naming_the_field(vcenter_limits, host_limits, problem):
    with pytest.raises(TopologyError) as caught:
        parse_topology(data_with(vcenter_limits, host_limits), "topology.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"topology.yaml: {problem}")

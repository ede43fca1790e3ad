"""A vCenter connects again a host that came back empty (a restarted process), and leaves alone the
hosts that hold what the inventory places on them."""

from __future__ import annotations

import yaml
from process_estate_helpers import TOPOLOGY

from linkedmode.estate import start_estate
from linkedmode.model.inventory import Vm
from linkedmode.topology import parse_topology
from linkedmode.vcenter.host_watch import hosts_to_reconnect, reconnect_returned_hosts


def test_a_host_that_lost_its_vms_is_connected_again_and_the_others_are_left_alone():
    with start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "watch")) as estate:
        vc = estate.vcenters["vc-a"].vcenter
        mover = next(vm for vm in vc.state.all(Vm) if vm.name == "mover")
        assert hosts_to_reconnect(vc) == [] and reconnect_returned_hosts(vc) == []
        estate.hosts["a1"].state.reset()        # what a restarted host process holds: nothing
        assert [h.name for h in hosts_to_reconnect(vc)] == ["a1"]
        assert reconnect_returned_hosts(vc) == ["a1"]
        assert mover.instance_uuid in {v.config.instance_uuid for v in estate.hosts["a1"].state.vms()}
        assert hosts_to_reconnect(vc) == []
        # a vCenter with no VM on a host has nothing to give back to it
        assert reconnect_returned_hosts(estate.vcenters["vc-b"].vcenter) == []

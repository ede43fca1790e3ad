"""Generated topologies: a few numbers give a whole estate, the same each time, checked like a written one."""

from __future__ import annotations

import pytest
from estate_helpers import client_of

from linkedmode.estate import start_estate
from linkedmode.model.settings import PowerState
from linkedmode.topology import TopologyError, parse_topology
from linkedmode.v1 import vcenter_pb2

SOURCE = "gen.yaml"


def generated(**numbers: object) -> dict[str, object]:
    return {"generate": {"vcenters": 2, "hosts_per_vcenter": 3, "vms": 20, **numbers}}


def test_a_few_numbers_give_vcenters_hosts_and_vms_with_readable_names() -> None:
    topology = parse_topology(generated(memory_mb=[1024, 8192]), SOURCE)
    (domain,) = topology.sso_domains
    assert domain.name == "vsphere.local" and [vc.name for vc in domain.vcenters] == ["vc-01", "vc-02"]
    first, second = domain.vcenters
    assert [h.name for h in first.hosts()] == ["esx-01-01", "esx-01-02", "esx-01-03"]
    vms = [*first.vms(), *second.vms()]
    assert len(vms) == 20 and {vm.name for vm in vms} == {f"vm-{n:05d}" for n in range(1, 21)}
    assert [vm.name for vm in first.vms()][:3] == ["vm-00001", "vm-00003", "vm-00005"]
    assert {vm.host for vm in first.vms()} == {h.name for h in first.hosts()}      # dealt to every host
    assert all(1024 <= vm.memory_mb <= 8192 and vm.memory_mb % 256 == 0 for vm in vms)
    assert len({vm.memory_mb for vm in vms}) > 1
    assert all(vm.power_state is PowerState.POWERED_ON and len(vm.nics) == 1 for vm in vms)


def test_the_same_numbers_give_the_same_estate_and_another_seed_another() -> None:
    numbers = generated(vms=200, memory_mb=[1024, 8192])
    assert parse_topology(numbers, SOURCE) == parse_topology(numbers, SOURCE)
    reseeded = parse_topology(generated(vms=200, memory_mb=[1024, 8192], seed=7), SOURCE)
    assert reseeded != parse_topology(numbers, SOURCE)


def test_options_name_the_domain_version_and_power_state() -> None:
    topology = parse_topology(generated(domain="lab.local", version="6.7.0", power_state="poweredOff",
                                        memory_mb=512), SOURCE)
    (domain,) = topology.sso_domains
    assert domain.name == "lab.local" and str(domain.vcenters[0].version) == "6.7.0"
    assert {vm.memory_mb for vc in domain.vcenters for vm in vc.vms()} == {512}
    assert {vm.power_state for vc in domain.vcenters for vm in vc.vms()} == {PowerState.POWERED_OFF}


@pytest.mark.parametrize(("document", "message"), [
    (generated(vcenters=0), "gen.yaml: generate.vcenters: expected a positive integer, got 0 (an integer)"),
    (generated(hosts_per_vcenter="many"), "gen.yaml: generate.hosts_per_vcenter: expected a positive integer, "
                                          "got 'many' (a string)"),
    (generated(vms=-1), "gen.yaml: generate.vms: expected an integer >= 0, got -1 (an integer)"),
    (generated(vcenters=100), "gen.yaml: generate.vcenters: at most 99, got 100"),
    (generated(memory_mb=[8192, 1024]), "gen.yaml: generate.memory_mb: the smallest size 8192 is larger than the "
                                        "largest 1024"),
    (generated(memory_mb=1000), "gen.yaml: generate.memory_mb: expected sizes that are multiples of 256 MB, "
                                "got 1000 (an integer)"),
    (generated(memory_mb=[256, 512, 1024]), "gen.yaml: generate.memory_mb: expected a size in MB or "
                                            "[smallest, largest], got a list of 3"),
    (generated(power_state="on"), "gen.yaml: generate.power_state: 'on' is not one of poweredOff, poweredOn, "
                                  "suspended"),
    (generated(version="7.x"), "gen.yaml: generate.version:"),
    (generated(hosts=3), "gen.yaml: generate.hosts: unknown key; allowed: vcenters, hosts_per_vcenter, vms, "
                         "memory_mb, domain, version, power_state, seed"),
    (generated(vcenters=None), "gen.yaml: generate.vcenters: required but missing"),
    ({**generated(), "sso_domains": []}, "gen.yaml: generate: give either sso_domains or generate, not both"),
    ({"generate": [2, 32, 5000]}, "gen.yaml: generate: expected a mapping, got a list"),
])
def test_generate_errors_are_one_line_naming_the_field(document: dict[str, object], message: str) -> None:
    with pytest.raises(TopologyError) as error:
        parse_topology(document, SOURCE)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_small_generated_estate_comes_up_and_answers_over_mutual_tls() -> None:
    topology = parse_topology(generated(vms=12, memory_mb=[1024, 8192]), SOURCE)
    with start_estate(topology) as estate:
        client = client_of(estate, "vc-01")
        try:
            vms = client.api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=30).vms
            assert sorted(vm.name for vm in vms) == [f"vm-{n:05d}" for n in range(1, 13, 2)]
            for host in ("esx-02-01", "esx-02-02", "esx-02-03"):
                running = estate.hosts[host].state.vms()
                assert running and all(vm.power_state is PowerState.POWERED_ON for vm in running)
                assert all(not estate.hosts[host].state.guest(vm.config.instance_uuid).memory.mapped for vm in running)
        finally:
            client.close()


def test_a_host_with_more_vms_than_one_call_carries_gets_every_one() -> None:
    topology = parse_topology({"generate": {"vcenters": 1, "hosts_per_vcenter": 1, "vms": 1100}}, SOURCE)
    with start_estate(topology) as estate:
        running = estate.hosts["esx-01-01"].state.vms()
        assert len(running) == 1100 and all(vm.power_state is PowerState.POWERED_ON for vm in running)

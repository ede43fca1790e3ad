"""The pure rules behind rows X8 and V10, table-driven: which ESXi a vCenter manages, which EVC
baseline covers which, and which VM has a CPU requirement."""

from __future__ import annotations

import pytest

from linkedmode.migration.compatibility import check_cpu, with_cpu_requirement
from linkedmode.model.cpu import DEFAULT_CPU, EvcBaseline, evc_mode_keys
from linkedmode.model.faults import FeatureRequirementsNotMet
from linkedmode.model.inventory import Cluster, Host, Network, Vm
from linkedmode.model.settings import PowerState
from linkedmode.model.versions import Version, managed_esxi

MANAGES = [
    # vCenter, ESXi, managed
    ("7.0.3", "7.0.3", True), ("7.0.3", "6.7.0", True), ("7.0.0", "6.5.0", True), ("7.0.3", "6.0.0", False),
    ("7.0.3", "8.0.0", False), ("6.7.0", "6.0.0", True), ("6.7.0", "6.7.3", True), ("6.7.0", "6.5.0", True),
    ("6.7.0", "7.0.0", False), ("6.7.0", "5.5.0", False), ("8.0.2", "7.0.3", True), ("8.0.2", "6.7.0", False),
]


@pytest.mark.parametrize(("vcenter", "esxi", "managed"), MANAGES, ids=[f"vc{v}-esx{e}" for v, e, _ in MANAGES])
def test_which_esxi_a_vcenter_manages(vcenter, esxi, managed):
    assert (Version.parse(esxi) in managed_esxi(Version.parse(vcenter))) is managed


def test_the_managed_range_reads_as_the_interoperability_matrix():
    assert str(managed_esxi(Version(7, 0, 3))) == "ESXi 6.5 to 7.0"
    assert str(managed_esxi(Version(6, 7))) == "ESXi 6.0 to 6.7"


COVERS = [
    # offered, required, covers
    ("intel-skylake", "intel-skylake", True), ("intel-icelake", "intel-haswell", True), ("intel-haswell", "intel-skylake", False),
    ("amd-zen3", "amd-zen2", True), ("amd-zen2", "amd-zen3", False), ("amd-zen4", "intel-merom", False),
    ("intel-sapphirerapids", "amd-rev-e", False),
]


@pytest.mark.parametrize(("offered", "required", "covers"), COVERS, ids=[f"{o}-runs-{r}" for o, r, _ in COVERS])
def test_which_baseline_covers_which(offered, required, covers):
    assert EvcBaseline.named(offered).covers(EvcBaseline.named(required)) is covers


def test_every_mode_is_named_once_and_the_default_is_one_of_them():
    keys = evc_mode_keys()
    assert len(keys) == len(set(keys)) and DEFAULT_CPU in keys
    assert EvcBaseline.named("amd-zen2") == EvcBaseline("amd-zen2", "amd", 8)
    with pytest.raises(ValueError, match="'intel-486' is not an EVC mode"):
        EvcBaseline.named("intel-486")


def test_a_suspended_vm_keeps_the_features_it_resumes_with_and_a_powered_off_one_has_none():
    """The check itself (the move of a suspended VM is another rule's business, row V13)."""
    skylake, haswell = Host("host-1", "skylake", cpu="intel-skylake"), Host("host-2", "haswell", cpu="intel-haswell")
    suspended = with_cpu_requirement(Vm("vm-1", "s", power_state=PowerState.SUSPENDED), skylake)
    assert suspended.min_required_evc_mode_key == "intel-skylake"
    with pytest.raises(FeatureRequirementsNotMet):
        check_cpu(suspended, haswell)
    off = with_cpu_requirement(Vm("vm-2", "o", power_state=PowerState.POWERED_OFF, min_required_evc_mode_key="intel-skylake"), skylake)
    assert off.min_required_evc_mode_key == ""
    check_cpu(off, haswell)


def test_an_inventory_saved_before_cpus_and_switches_reads_with_the_defaults():
    host = Host.from_row({"moid": "host-1", "name": "esx-1", "version": "7.0.3"})
    assert isinstance(host, Host) and (host.cpu, host.evc_mode, host.current_evc_mode_key) == (DEFAULT_CPU, "", DEFAULT_CPU)
    cluster = Cluster.from_row({"moid": "domain-c1", "name": "c", "datacenter": "datacenter-1", "hosts": ["host-1"]})
    assert isinstance(cluster, Cluster) and cluster.evc_mode == ""
    network = Network.from_row({"moid": "network-1", "name": "VM Network", "datacenter": "datacenter-1"})
    assert isinstance(network, Network) and (network.switch_type, network.uplinks, network.distributed) == ("standard", 1, False)
    row = Vm("vm-1", "v").to_row()
    del row["min_required_evc_mode_key"]
    assert Vm.from_row(row).min_required_evc_mode_key == ""

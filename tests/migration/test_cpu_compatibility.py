"""Row V10 across real servers: a VM moves only to a host that offers the CPU features it runs with
(its vendor, at its EVC baseline or later); a cluster's EVC mode makes its hosts offer one baseline.
Inside one vCenter and across two, through RelocateVm over mutual TLS."""

from __future__ import annotations

import pytest
import yaml
from estate_helpers import client_of
from migration_estate import fault_of, locator_of, relocate

from linkedmode.estate import start_estate
from linkedmode.model.faults import FeatureRequirementsNotMet, MigrationFault
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2

TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters:
              - name: plain
                hosts:
                  - {name: skylake, version: 7.0.3, cpu: intel-skylake}
                  - {name: haswell, version: 7.0.3, cpu: intel-haswell}
                  - {name: icelake, version: 7.0.3, cpu: intel-icelake}
                  - {name: zen3, version: 7.0.3, cpu: amd-zen3}
                  - {name: default-cpu, version: 7.0.3}
              - name: evc-haswell
                evc_mode: intel-haswell
                hosts:
                  - {name: evc-skylake, version: 7.0.3, cpu: intel-skylake}
                  - {name: evc-haswell, version: 7.0.3, cpu: intel-haswell}
            datastores: [{name: ds-a}]
            networks: [{name: VM Network}]
            vms:
              - {name: on-skylake, host: skylake, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: to-amd, host: skylake, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: round-trip, host: haswell, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: off-skylake, host: skylake, memory_mb: 16, power_state: poweredOff, disks: [{datastore: ds-a, capacity_mb: 4}]}
              - {name: in-evc, host: evc-skylake, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: evc-abroad, host: evc-skylake, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: skylake-abroad, host: skylake, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: default-vm, host: default-cpu, memory_mb: 16, nics: [{network: VM Network}]}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters:
              - name: cluster-b
                hosts:
                  - {name: b-broadwell, version: 7.0.3, cpu: intel-broadwell}
                  - {name: b-zen2, version: 7.0.3, cpu: amd-zen2}
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
"""


@pytest.fixture(scope="module")
def estate():
    with start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "cpu-test")) as running:
        yield running


@pytest.fixture(scope="module")
def vc_a(estate):
    client = client_of(estate, "vc-a")
    yield client
    client.close()


def where(client, vm: str) -> str:
    hosts = {h.moid: h.name for h in client.api.ListHosts(inventory_pb2.ListRequest()).hosts}
    return hosts[client.api.GetVm(common_pb2.ObjectRef(name=vm)).host]


def moved(task: common_pb2.Task) -> None:
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error


def test_hosts_and_clusters_show_their_cpu_and_evc_mode(vc_a):
    hosts = {h.name: h for h in vc_a.api.ListHosts(inventory_pb2.ListRequest()).hosts}
    assert (hosts["zen3"].cpu_vendor, hosts["zen3"].max_evc_mode_key, hosts["zen3"].current_evc_mode_key) == ("amd", "amd-zen3", "amd-zen3")
    assert (hosts["evc-skylake"].max_evc_mode_key, hosts["evc-skylake"].current_evc_mode_key) == ("intel-skylake", "intel-haswell")
    assert hosts["default-cpu"].max_evc_mode_key == "intel-skylake" and hosts["default-cpu"].cpu_vendor == "intel"
    clusters = {c.name: c.current_evc_mode_key for c in vc_a.api.ListClusters(inventory_pb2.ListRequest()).clusters}
    assert clusters == {"plain": "", "evc-haswell": "intel-haswell"}


def test_a_vm_cannot_move_to_a_host_of_an_older_cpu(vc_a):
    task = relocate(vc_a, "on-skylake", host="haswell")
    fault = fault_of(task)
    assert isinstance(fault, FeatureRequirementsNotMet) and isinstance(fault, MigrationFault)
    assert fault.message == ("on-skylake runs with the CPU features of intel-skylake, and host haswell offers only intel-haswell "
                             "(its CPU): intel-haswell is older than intel-skylake; the host does not support the VM's "
                             "current hardware requirements")
    assert fault.object == "haswell" and fault.arguments == {"required": "intel-skylake", "offered": "intel-haswell"}
    assert where(vc_a, "on-skylake") == "skylake"


def test_a_vm_cannot_move_to_a_cpu_of_another_vendor(vc_a):
    fault = fault_of(relocate(vc_a, "to-amd", host="zen3"))
    assert isinstance(fault, FeatureRequirementsNotMet)
    assert "an AMD CPU cannot run a VM started on an Intel CPU" in fault.message
    assert where(vc_a, "to-amd") == "skylake"


def test_a_running_vm_keeps_its_features_so_it_can_come_back(vc_a):
    """Started on haswell, it runs with haswell's features on icelake too, so it may return; it cannot go to AMD."""
    moved(relocate(vc_a, "round-trip", host="icelake"))
    assert vc_a.api.GetVm(common_pb2.ObjectRef(name="round-trip")).min_required_evc_mode_key == "intel-haswell"
    moved(relocate(vc_a, "round-trip", host="haswell"))
    assert where(vc_a, "round-trip") == "haswell"


def test_a_powered_off_vm_has_no_cpu_requirement(vc_a):
    moved(relocate(vc_a, "off-skylake", host="zen3"))
    assert where(vc_a, "off-skylake") == "zen3"


def test_an_evc_cluster_lets_a_vm_move_between_cpu_generations(vc_a):
    moved(relocate(vc_a, "in-evc", host="evc-haswell"))
    assert vc_a.api.GetVm(common_pb2.ObjectRef(name="in-evc")).min_required_evc_mode_key == "intel-haswell"
    moved(relocate(vc_a, "in-evc", host="evc-skylake"))


def test_the_default_cpu_keeps_every_move_allowed(vc_a):
    moved(relocate(vc_a, "default-vm", host="skylake"))


def to_vc_b(estate, vc_a, vm: str, host: str) -> common_pb2.Task:
    return relocate(vc_a, vm, host=host, datastore="ds-b", pool="cluster-b", service=locator_of(estate, "vc-b"))


def test_across_vcenters_the_destination_checks_the_cpu(estate, vc_a):
    fault = fault_of(to_vc_b(estate, vc_a, "skylake-abroad", "b-broadwell"))
    assert isinstance(fault, FeatureRequirementsNotMet) and fault.object == "b-broadwell"
    assert "intel-broadwell is older than intel-skylake" in fault.message
    assert where(vc_a, "skylake-abroad") == "skylake"
    assert "skylake-abroad" not in {v.name for v in client_of(estate, "vc-b").api.ListVms(vcenter_pb2.ListVmsRequest()).vms}


def test_across_vcenters_a_vm_of_an_evc_cluster_moves_to_any_host_at_that_baseline(estate, vc_a):
    assert isinstance(fault_of(to_vc_b(estate, vc_a, "evc-abroad", "b-zen2")), FeatureRequirementsNotMet)
    moved(to_vc_b(estate, vc_a, "evc-abroad", "b-broadwell"))
    arrived = client_of(estate, "vc-b").api.GetVm(common_pb2.ObjectRef(name="evc-abroad"))
    assert arrived.min_required_evc_mode_key == "intel-haswell"

"""Row V12 across real servers: RelocateSpec.deviceChange gives each NIC its destination network; the
destination refuses a move from a distributed to a standard switch, between distributed switches of
different versions, and to a network without physical uplinks, naming the NIC and both networks."""

from __future__ import annotations

import grpc
import pytest
import yaml
from estate_helpers import call_fault, client_of
from migration_estate import fault_of, locator_of, relocate, vm_names

from linkedmode.estate import start_estate
from linkedmode.model.faults import InvalidArgument, InvalidDeviceBacking, MigrationFault, VMOnVirtualIntranet
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
            clusters: [{name: cluster-a, hosts: [{name: a1, version: 7.0.3}, {name: a2, version: 7.0.3}]}]
            datastores: [{name: ds-a}]
            networks:
              - {name: VM Network}
              - {name: Backup, switch: vSwitch1}
              - {name: dv-prod, type: distributed, switch: dvs-a, switch_version: 7.0.0}
              - {name: dv-old, type: distributed, switch: dvs-old, switch_version: 6.6.0}
              - {name: dv-internal, type: distributed, switch: dvs-a, switch_version: 7.0.0, uplinks: 0}
              - {name: Lab}
            vms:
              - {name: two-nics, host: a1, memory_mb: 16, nics: [{network: dv-prod}, {network: VM Network}]}
              - {name: dv-to-standard, host: a1, memory_mb: 16, nics: [{network: VM Network}, {network: dv-prod}]}
              - {name: to-isolated, host: a1, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: on-lab, host: a1, memory_mb: 16, nics: [{network: Lab}]}
              - {name: dv-mapped, host: a1, memory_mb: 16, nics: [{network: dv-prod}]}
              - {name: dv-old-vm, host: a1, memory_mb: 16, nics: [{network: dv-old}]}
              - {name: bad-change, host: a1, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: local-std, host: a1, memory_mb: 16, nics: [{network: VM Network}]}
              - {name: local-dv, host: a1, memory_mb: 16, nics: [{network: dv-prod}]}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b1, version: 7.0.3}]}]
            datastores: [{name: ds-b}]
            networks:
              - {name: VM Network}
              - {name: dv-prod, type: distributed, switch: dvs-b, switch_version: 7.0.0}
              - {name: dv-target, type: distributed, switch: dvs-b, switch_version: 7.0.0}
              - {name: dv-old, type: distributed, switch: dvs-b, switch_version: 7.0.0}
              - {name: Isolated, uplinks: 0}
              - {name: Lab, uplinks: 0}
"""


@pytest.fixture(scope="module")
def estate():
    with start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "network-test")) as running:
        yield running


@pytest.fixture(scope="module")
def vc_a(estate):
    client = client_of(estate, "vc-a")
    yield client
    client.close()


def change(device: str, network: str) -> vcenter_pb2.VirtualDeviceConfigSpec:
    return vcenter_pb2.VirtualDeviceConfigSpec(device=device, network=network)


def to_vc_b(estate, vc_a, vm: str, *changes: vcenter_pb2.VirtualDeviceConfigSpec) -> common_pb2.Task:
    return relocate(vc_a, vm, host="b1", datastore="ds-b", pool="cluster-b", service=locator_of(estate, "vc-b"),
                    device_change=list(changes))


def networks_of(client, vm: str) -> dict[str, str]:
    names = {n.moid: n.name for n in client.api.ListNetworks(inventory_pb2.ListRequest()).networks}
    return {nic.label: names[nic.network] for nic in client.api.GetVm(common_pb2.ObjectRef(name=vm)).nics}


def stayed(estate, vc_a, vm: str) -> None:
    assert vm in vm_names(vc_a) and vm not in vm_names(client_of(estate, "vc-b"))


def test_networks_show_their_switch(vc_a):
    networks = {n.name: n for n in vc_a.api.ListNetworks(inventory_pb2.ListRequest()).networks}
    standard = networks["VM Network"]
    assert (standard.switch_type, standard.switch, standard.switch_version, standard.uplinks) == ("standard", "vSwitch0", "", 1)
    dv = networks["dv-prod"]
    assert (dv.switch_type, dv.switch, dv.switch_version, dv.uplinks) == ("distributed", "dvs-a", "7.0.0", 1)
    assert networks["dv-internal"].uplinks == 0


def test_without_device_change_each_nic_joins_the_network_of_the_same_name(estate, vc_a):
    task = to_vc_b(estate, vc_a, "two-nics")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert networks_of(client_of(estate, "vc-b"), "two-nics") == {"Network adapter 1": "dv-prod", "Network adapter 2": "VM Network"}


def test_device_change_puts_a_nic_on_another_distributed_network(estate, vc_a):
    task = to_vc_b(estate, vc_a, "dv-mapped", change("Network adapter 1", "dv-target"))
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert networks_of(client_of(estate, "vc-b"), "dv-mapped") == {"Network adapter 1": "dv-target"}


def test_a_move_from_a_distributed_to_a_standard_switch_is_refused(estate, vc_a):
    fault = fault_of(to_vc_b(estate, vc_a, "dv-to-standard", change("Network adapter 2", "VM Network")))
    assert isinstance(fault, InvalidDeviceBacking) and isinstance(fault, MigrationFault)
    assert fault.message == ("Network adapter 2 of dv-to-standard would move from network 'dv-prod' to 'VM Network': vMotion "
                             "from a distributed switch to a standard switch (vSwitch0) is not supported")
    assert (fault.object, fault.arguments["device"]) == ("VM Network", "Network adapter 2")
    stayed(estate, vc_a, "dv-to-standard")


def test_a_move_between_distributed_switches_of_different_versions_is_refused(estate, vc_a):
    fault = fault_of(to_vc_b(estate, vc_a, "dv-old-vm"))
    assert isinstance(fault, InvalidDeviceBacking)
    assert fault.message.endswith("vMotion between distributed switches of different versions (6.6.0 and 7.0.0) is not supported")
    stayed(estate, vc_a, "dv-old-vm")


def test_a_move_to_a_network_without_uplinks_is_refused(estate, vc_a):
    fault = fault_of(to_vc_b(estate, vc_a, "to-isolated", change("Network adapter 1", "Isolated")))
    assert isinstance(fault, VMOnVirtualIntranet)
    assert fault.message == ("Network adapter 1 of to-isolated would move from network 'VM Network' to 'Isolated', which has "
                             "no physical uplinks: it is a virtual intranet")
    stayed(estate, vc_a, "to-isolated")
    # the same-name rule meets the same check: vc-b's Lab has no uplinks
    fault = fault_of(to_vc_b(estate, vc_a, "on-lab"))
    assert isinstance(fault, VMOnVirtualIntranet) and "from network 'Lab' to 'Lab'" in fault.message
    stayed(estate, vc_a, "on-lab")


def test_a_device_change_naming_what_does_not_exist(estate, vc_a):
    fault = fault_of(to_vc_b(estate, vc_a, "bad-change", change("Network adapter 9", "VM Network")))
    assert isinstance(fault, InvalidArgument)
    assert fault.message == "bad-change has no NIC 'Network adapter 9' (it has Network adapter 1)"
    fault = fault_of(to_vc_b(estate, vc_a, "bad-change", change("Network adapter 1", "Nowhere")))
    assert isinstance(fault, InvalidArgument)
    assert fault.message == "Network adapter 1 of bad-change would join network 'Nowhere', which dc-b of vc-b does not have"
    fault = fault_of(to_vc_b(estate, vc_a, "bad-change", change("Network adapter 1", "VM Network"), change("Network adapter 1", "Lab")))
    assert fault.message == "Network adapter 1 of bad-change is given twice"
    code, fault = call_fault(vc_a.api.RelocateVm, vcenter_pb2.RelocateVmRequest(
        vm=common_pb2.ObjectRef(name="bad-change"), spec=vcenter_pb2.RelocateSpec(host="a2", device_change=[change("", "Lab")])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "spec.device_change[0].device" in fault.message
    stayed(estate, vc_a, "bad-change")


def test_inside_one_vcenter_device_change_moves_a_nic_under_the_same_checks(vc_a):
    task = relocate(vc_a, "local-std", host="a2", device_change=[change("Network adapter 1", "Backup")])
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert networks_of(vc_a, "local-std") == {"Network adapter 1": "Backup"}
    assert isinstance(fault_of(relocate(vc_a, "local-dv", host="a2", device_change=[change("Network adapter 1", "Lab")])),
                      InvalidDeviceBacking)
    assert isinstance(fault_of(relocate(vc_a, "local-dv", host="a2", device_change=[change("Network adapter 1", "dv-internal")])),
                      VMOnVirtualIntranet)
    task = relocate(vc_a, "local-dv", host="a2")   # without a change the NIC keeps its network
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert networks_of(vc_a, "local-dv") == {"Network adapter 1": "dv-prod"}

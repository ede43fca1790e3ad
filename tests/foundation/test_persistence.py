"""A vCenter's inventory lives in SQLite in the state directory: stop, start, nothing lost."""

from __future__ import annotations

import sqlite3

from estate_helpers import client_of, vm_ref, wait_task
from test_tasks_and_events import running_on_host

from linkedmode.estate import ENDPOINTS_FILE, start_estate
from linkedmode.topology import default_topology
from linkedmode.v1 import common_pb2, emulator_pb2, vcenter_pb2


def test_inventory_and_settings_survive_a_restart(tmp_path):
    topology = default_topology()
    with start_estate(topology, tmp_path) as estate:
        vc_a = client_of(estate, "vc-a")
        uuid_before = vc_a.api.GetAbout(vcenter_pb2.GetAboutRequest()).instance_uuid
        vms_before = {vm.name: vm for vm in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
        wait_task(vc_a, vc_a.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(
            vm=vm_ref("batch-off"), spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_DISABLED))))
        wait_task(vc_a, vc_a.api.PowerOffVm(vm_ref("app-disabled")))
        last_event = vc_a.api.QueryEvents(vcenter_pb2.EventFilter()).events[-1].key
        assert (tmp_path / ENDPOINTS_FILE).exists()
    assert not (tmp_path / ENDPOINTS_FILE).exists()
    assert (tmp_path / "vcenters" / "vc-a.db").exists()

    with start_estate(topology, tmp_path) as estate:
        vc_a = client_of(estate, "vc-a")
        assert vc_a.api.GetAbout(vcenter_pb2.GetAboutRequest()).instance_uuid == uuid_before
        vms_after = {vm.name: vm for vm in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
        assert vms_after["batch-off"].migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_DISABLED
        assert vms_after["app-disabled"].power_state == common_pb2.POWER_STATE_POWERED_OFF
        for name, before in vms_before.items():
            if name not in ("batch-off", "app-disabled"):
                assert vms_after[name] == before
        assert vms_after["app-disabled"].instance_uuid == vms_before["app-disabled"].instance_uuid
        assert vc_a.api.QueryEvents(vcenter_pb2.EventFilter()).events[-1].key == last_event
        # the hosts were restarted too: the vCenter registered its VMs again, running the ones that ran
        on_host = running_on_host(estate, "esx-a1", "vc-a")
        assert on_host["app-opportunistic"] == common_pb2.POWER_STATE_POWERED_ON
        assert on_host["app-disabled"] == common_pb2.POWER_STATE_POWERED_OFF


def test_reset_puts_the_topology_back(estate):
    vc_a = client_of(estate, "vc-a")
    uuid_before = vc_a.api.GetAbout(vcenter_pb2.GetAboutRequest()).instance_uuid
    wait_task(vc_a, vc_a.api.PowerOffVm(vm_ref("app-disabled")))
    assert vc_a.emulator.Reset(emulator_pb2.ResetRequest()).vms == 6
    assert vc_a.api.GetVm(vm_ref("app-disabled")).power_state == common_pb2.POWER_STATE_POWERED_ON
    assert vc_a.api.GetAbout(vcenter_pb2.GetAboutRequest()).instance_uuid == uuid_before
    assert [e.type for e in vc_a.api.QueryEvents(vcenter_pb2.EventFilter(vm="app-disabled")).events] == ["VmRegisteredEvent"]
    assert running_on_host(estate, "esx-a1", "vc-a")["app-disabled"] == common_pb2.POWER_STATE_POWERED_ON


def test_the_database_holds_the_inventory_as_rows(tmp_path):
    with start_estate(default_topology(), tmp_path):
        pass
    with sqlite3.connect(tmp_path / "vcenters" / "vc-b.db") as db:
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM objects GROUP BY kind").fetchall())
    assert kinds == {"datacenter": 1, "cluster": 1, "host": 3, "datastore": 2, "network": 1, "vm": 2}

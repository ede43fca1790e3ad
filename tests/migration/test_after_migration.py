"""What a migration leaves behind: inventories, events, the MAC block list, queues, and no key anywhere
(rows E7, E8, E11, X4, V8)."""

from __future__ import annotations

import base64
import logging

import pytest
from estate_helpers import client_of, wait_task
from migration_estate import fault_of, migration_estate, relocate, to_vc_b, vm_names

from linkedmode.client import connect_host
from linkedmode.crypto import secrets as secrets_module
from linkedmode.model.faults import MigrationFeatureNotSupported
from linkedmode.model.inventory import Host
from linkedmode.v1 import common_pb2, host_agent_pb2, host_agent_pb2_grpc, inventory_pb2, vcenter_pb2
from linkedmode.vcenter.macs import NEXT_MAC, MacPool


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


def events(client, vm: str = "") -> list[common_pb2.Event]:
    return list(client.api.QueryEvents(vcenter_pb2.EventFilter(vm=vm)).events)


def host_vms(estate, host: str, vcenter: str) -> dict[str, int]:
    credential = estate.credential("vsphere.local", "vcenter", vcenter)
    stub = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts[host].address, credential, host))
    return {vm.name: vm.power_state for vm in stub.ListVms(host_agent_pb2.ListHostVmsRequest()).vms}


def test_after_success_the_vm_is_in_the_destination_inventory_with_its_identity(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    before = vc_a.api.GetVm(common_pb2.ObjectRef(name="opportunistic"))
    task = to_vc_b(estate, vc_a, "opportunistic")
    assert task.state == common_pb2.TASK_STATE_SUCCESS
    after = vc_b.api.GetVm(common_pb2.ObjectRef(name="opportunistic"))
    assert after.moid == task.migration.vm and after.instance_uuid == before.instance_uuid
    assert [n.mac_address for n in after.nics] == [n.mac_address for n in before.nics]
    assert (after.migrate_encryption, after.memory_mb, after.power_state) == (before.migrate_encryption, before.memory_mb,
                                                                               common_pb2.POWER_STATE_POWERED_ON)
    b70 = next(h for h in vc_b.api.ListHosts(inventory_pb2.ListRequest()).hosts if h.name == "b70")
    assert after.host == b70.moid
    assert "opportunistic" not in vm_names(vc_a)
    # the hosts agree: the destination runs it, the source dropped its copy
    assert host_vms(estate, "b70", "vc-b")["opportunistic"] == common_pb2.POWER_STATE_POWERED_ON
    assert "opportunistic" not in host_vms(estate, "a70", "vc-a")


def test_after_success_both_vcenters_post_events(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, "opportunistic")
    source = [e for e in events(vc_a) if e.task == task.key]
    assert [e.type for e in source] == ["VmBeingHotMigratedEvent", "com.vmware.vc.vm.VmHotMigratingWithEncryptionEvent", "VmMigratedEvent"]
    encrypted = source[1]
    assert (encrypted.arguments["destHost"], encrypted.arguments["destDatacenter"]) == ("b70", "dc-b")
    arrived = [e.type for e in events(vc_b, "opportunistic")]
    assert arrived == ["VmBeingHotMigratedEvent", "com.vmware.vc.vm.VmHotMigratingWithEncryptionEvent", "VmMigratedEvent"]
    assert all(e.arguments["sourceVcenter"] == "vc-a" for e in events(vc_b, "opportunistic"))


def test_after_failure_the_vm_stays_and_both_vcenters_say_so(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, "required", "b-noaes")
    assert isinstance(fault_of(task), MigrationFeatureNotSupported)
    assert "required" in vm_names(vc_a) and "required" not in vm_names(vc_b)
    assert host_vms(estate, "a70", "vc-a")["required"] == common_pb2.POWER_STATE_POWERED_ON
    # refused before anything was sent: the destination never heard of it
    assert [e.type for e in events(vc_a) if e.task == task.key] == []
    # a failure after the destination prepared: both sides post VmFailedMigrateEvent
    estate.hosts["b70"].migrations.listener.close()   # the destination's vMotion network goes down
    task = to_vc_b(estate, vc_a, "disabled")
    fault_of(task)
    assert "disabled" in vm_names(vc_a) and "disabled" not in vm_names(vc_b)
    assert host_vms(estate, "a70", "vc-a")["disabled"] == common_pb2.POWER_STATE_POWERED_ON
    assert [e.type for e in events(vc_a) if e.task == task.key][-1] == "VmFailedMigrateEvent"
    assert [e.type for e in events(vc_b)][-1] == "VmFailedMigrateEvent"
    assert not estate.vcenters["vc-b"].vcenter.arrivals.pending()


def test_the_source_blocks_the_macs_of_a_vm_that_left(estate):
    vc_a = client_of(estate, "vc-a")
    macs = [n.mac_address for n in vc_a.api.GetVm(common_pb2.ObjectRef(name="disabled")).nics]
    assert to_vc_b(estate, vc_a, "disabled").state == common_pb2.TASK_STATE_SUCCESS
    blocked = vc_a.api.ListBlockedMacs(vcenter_pb2.ListBlockedMacsRequest()).mac_addresses
    assert macs and set(macs) <= set(blocked)
    # and it never hands them out: the pool skips them, even from the start of its range again
    state = estate.vcenters["vc-a"].vcenter.state
    state.update(meta={NEXT_MAC: "0"})
    handed = set(MacPool(state).take(64))
    assert len(handed) == 64 and not handed & set(blocked)


def test_a_cold_move_copies_no_memory_and_registers_the_vm_powered_off(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, "off-opportunistic", "b-noaes")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert not task.migration.hot and not task.migration.encrypted
    assert not task.migration.HasField("stream")
    assert vc_b.api.GetVm(common_pb2.ObjectRef(name="off-opportunistic")).power_state == common_pb2.POWER_STATE_POWERED_OFF
    assert host_vms(estate, "b-noaes", "vc-b")["off-opportunistic"] == common_pb2.POWER_STATE_POWERED_OFF
    assert [e.type for e in events(vc_a) if e.task == task.key] == ["VmBeingMigratedEvent", "VmMigratedEvent"]


def test_more_migrations_than_a_host_allows_all_succeed_some_queued(estate):
    """Row V8: a-slow is on 1 GbE, so it runs 4 vMotions at once; the 5th and 6th wait their turn."""
    vc_a = client_of(estate, "vc-a")
    requests = [vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=f"busy-{i}"), spec=vcenter_pb2.RelocateSpec(host="a70"))
                for i in range(1, 7)]
    tasks = [vc_a.api.RelocateVm(r) for r in requests]
    done = [wait_task(vc_a, t) for t in tasks]
    assert all(t.state == common_pb2.TASK_STATE_SUCCESS for t in done), [t.error for t in done]
    slots = estate.vcenters["vc-a"].vcenter.slots
    a_slow = next(h.moid for h in estate.vcenters["vc-a"].vcenter.state.all(Host) if h.name == "a-slow")
    assert slots.peak(a_slow) == 4
    assert sum(1 for t in done if t.migration.queued_ms > 0) >= 2


def test_the_key_appears_nowhere_and_is_wiped_everywhere(tmp_path, monkeypatch, caplog):
    made: list[secrets_module.MigrationSecrets] = []
    original_init = secrets_module.MigrationSecrets.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(secrets_module.MigrationSecrets, "__init__", recording_init)
    keys: list[bytes] = []
    original_generate = secrets_module.MigrationSecrets.generate.__func__

    def recording_generate(cls, migration_id=None):
        secrets = original_generate(cls, migration_id)
        keys.append(bytes(secrets.key))
        made.append(secrets)
        return secrets

    monkeypatch.setattr(secrets_module.MigrationSecrets, "generate", classmethod(recording_generate))
    caplog.set_level(logging.DEBUG)
    with migration_estate(tmp_path) as estate:
        vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
        results = [to_vc_b(estate, vc_a, "encrypted"), relocate(vc_a, "opportunistic", host="a67")]
        assert all(t.state == common_pb2.TASK_STATE_SUCCESS for t in results)
        everything = b"".join(e.SerializeToString() for c in (vc_a, vc_b) for e in events(c))
        everything += b"".join(t.SerializeToString() for t in results)
        for host in estate.hosts.values():
            assert not host.migrations.snapshots() and not host.migrations.listener.migrations
    assert len(keys) == 2 and all(len(k) == 32 and any(k) for k in keys)
    # every MigrationSecrets made anywhere was wiped: across vCenters the source vCenter, the destination
    # vCenter (the spec it took over LinkedMode) and both hosts; inside vc-a the vCenter and both hosts
    assert len(made) == 4 + 3 and all(s.wiped for s in made)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            everything += path.read_bytes()
    everything += caplog.text.encode()
    for key in keys:
        for form in (key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key)):
            assert form not in everything


def test_every_event_of_one_migration_carries_the_chain_of_its_first_on_both_vcenters(estate):
    """Row V14: a client follows one migration on each vCenter by the chainId of its first event."""
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, "required")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    mine = [e for e in events(vc_a) if e.task == task.key]
    assert [e.type for e in mine][:2] == ["VmBeingHotMigratedEvent", "com.vmware.vc.vm.VmHotMigratingWithEncryptionEvent"]
    chain = mine[0].key
    assert mine[0].chain_id == chain and all(e.chain_id == chain for e in mine)
    arrived = [e for e in events(vc_b) if e.vm_name == "required"]
    assert {e.type for e in arrived} >= {"VmBeingHotMigratedEvent", "VmMigratedEvent"}
    assert all(e.chain_id == chain for e in arrived)
    unrelated = [e for e in events(vc_a) if e.vm_name != "required"]
    assert unrelated and all(e.chain_id == e.key for e in unrelated)   # an event of its own starts its own chain


def test_a_suspended_vm_moves_cold_and_stays_suspended(estate):
    """Row V13: a suspended VM migrates as a cold migration of its suspended state."""
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, "sleeper", "b70")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert not task.migration.hot and not task.migration.HasField("stream") and task.migration.disks_moved == 1
    assert vc_b.api.GetVm(common_pb2.ObjectRef(name="sleeper")).power_state == common_pb2.POWER_STATE_SUSPENDED
    assert "sleeper" not in vm_names(vc_a)
    assert [e.type for e in events(vc_a) if e.task == task.key] == ["VmBeingMigratedEvent", "VmMigratedEvent"]

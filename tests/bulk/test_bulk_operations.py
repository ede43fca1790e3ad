"""Bulk operations through the public API, as an administrator scripts them: migrate_encryption set on
every VM a filter matches, a host evacuated (into this vCenter or a linked one) under the vMotion slot
limits, maintenance mode. Each is one task with one progress, and each VM's outcome in its result."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from estate_helpers import call_fault, client_of, fault_rule, task_fault, wait_task

from linkedmode.client import VCenterClient
from linkedmode.estate import Estate, start_estate
from linkedmode.model.inventory import Host
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2
from linkedmode.vcenter import evacuation

MOVERS = 6   # more than the 1 GbE source host's 4 vMotion slots

WEB = "\n".join(f"              - {{name: web-{i}, host: src, memory_mb: 16, nics: [{{network: VM Network}}], "
                f"disks: [{{datastore: ds-a, capacity_mb: 1}}], guest: {{dirty_rate_mbps: 2, working_set_mb: 4}}}}"
                for i in range(1, MOVERS + 1))

TOPOLOGY = f"""
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters:
              - name: cluster-a
                hosts:
                  - {{name: src, version: 7.0.3, vmotion: {{bandwidth: 1GbE}}}}
                  - {{name: a2, version: 7.0.3, memory_mb: 4096}}
                  - {{name: a3, version: 7.0.3, memory_mb: 2048}}
            datastores: [{{name: ds-a}}]
            networks: [{{name: VM Network}}]
            vms:
{WEB}
              - {{name: off-1, host: src, memory_mb: 16, power_state: poweredOff, migrate_encryption: disabled,
                 nics: [{{network: VM Network}}], disks: [{{datastore: ds-a, capacity_mb: 1}}]}}
              - {{name: off-2, host: a2, memory_mb: 16, power_state: poweredOff, migrate_encryption: disabled,
                 nics: [{{network: VM Network}}]}}
              - {{name: db-1, host: a2, memory_mb: 16, migrate_encryption: disabled, nics: [{{network: VM Network}}]}}
              - {{name: big, host: a2, memory_mb: 1536, nics: [{{network: VM Network}}]}}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters:
              - name: cluster-b
                hosts:
                  - {{name: b1, version: 7.0.3, memory_mb: 1024}}
                  - {{name: b2, version: 7.0.3, memory_mb: 4096}}
            datastores: [{{name: ds-b}}]
            networks: [{{name: VM Network}}]
"""


@pytest.fixture
def estate() -> Iterator[Estate]:
    import yaml
    with start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "bulk-test")) as running:
        yield running


@pytest.fixture
def vc_a(estate: Estate) -> Iterator[VCenterClient]:
    client = client_of(estate, "vc-a")
    yield client
    client.close()


def vm(client: VCenterClient, name: str) -> inventory_pb2.VirtualMachine:
    return client.api.GetVm(common_pb2.ObjectRef(name=name))


def on_host(client: VCenterClient, host: str) -> list[str]:
    return sorted(v.name for v in client.api.ListVms(vcenter_pb2.ListVmsRequest(host=host)).vms)


def outcomes(task: common_pb2.Task) -> dict[str, common_pb2.VmOutcome]:
    return {o.name: o for o in task.bulk.vms}


# -- migrate_encryption on every VM a filter matches ---------------------------------------------

def set_encryption(client: VCenterClient, mode: int, **fields: object) -> common_pb2.Task:
    request = vcenter_pb2.SetMigrateEncryptionRequest(filter=vcenter_pb2.VmFilter(**fields), migrate_encryption=mode)
    return wait_task(client, client.api.SetMigrateEncryption(request))


def test_every_powered_off_vm_a_filter_matches_gets_the_setting_in_one_task(vc_a: VCenterClient) -> None:
    task = set_encryption(vc_a, common_pb2.MIGRATE_ENCRYPTION_REQUIRED, power_state=common_pb2.POWER_STATE_POWERED_OFF)
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.progress == 100
    assert task.description_id == "VirtualMachine.bulkSetMigrateEncryption"
    assert set(outcomes(task)) == {"off-1", "off-2"} and task.bulk.succeeded == 2 and task.bulk.failed == 0
    assert {vm(vc_a, n).migrate_encryption for n in ("off-1", "off-2")} == {common_pb2.MIGRATE_ENCRYPTION_REQUIRED}
    assert vm(vc_a, "db-1").migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_DISABLED   # not matched: untouched
    reconfigured = vc_a.api.QueryEvents(vcenter_pb2.EventFilter(types=["VmReconfiguredEvent"])).events
    assert {e.vm_name for e in reconfigured} == {"off-1", "off-2"} and {e.task for e in reconfigured} == {task.key}


def test_a_glob_host_and_current_mode_narrow_the_batch_and_powered_on_vms_are_listed_with_their_fault(
        vc_a: VCenterClient) -> None:
    task = set_encryption(vc_a, common_pb2.MIGRATE_ENCRYPTION_REQUIRED, name="*-[12]", host="a2",
                          migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_DISABLED)
    assert set(outcomes(task)) == {"off-2", "db-1"}
    assert outcomes(task)["off-2"].succeeded
    refused = outcomes(task)["db-1"]
    assert not refused.succeeded and refused.fault.name == "InvalidPowerState"
    assert "changes only while it is powered off" in refused.fault.message
    assert (task.bulk.succeeded, task.bulk.failed) == (1, 1)
    assert vm(vc_a, "db-1").migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_DISABLED
    assert vm(vc_a, "off-1").migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_DISABLED   # on another host


def test_a_filter_that_matches_nothing_is_refused_at_once(vc_a: VCenterClient) -> None:
    code, fault = call_fault(vc_a.api.SetMigrateEncryption, vcenter_pb2.SetMigrateEncryptionRequest(
        filter=vcenter_pb2.VmFilter(name="nope-*"), migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED))
    assert code == grpc.StatusCode.NOT_FOUND and fault.name == "NotFound"
    assert fault.message == "no VM of vc-a matches name 'nope-*'"
    code, fault = call_fault(vc_a.api.SetMigrateEncryption, vcenter_pb2.SetMigrateEncryptionRequest(
        filter=vcenter_pb2.VmFilter(host="esx-nowhere"), migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED))
    assert code == grpc.StatusCode.NOT_FOUND and "esx-nowhere" in fault.message


def test_a_read_only_user_cannot_run_a_bulk_operation(estate: Estate) -> None:
    auditor = client_of(estate, "vc-a", "auditor")
    try:
        code, fault = call_fault(auditor.api.SetMigrateEncryption, vcenter_pb2.SetMigrateEncryptionRequest(
            filter=vcenter_pb2.VmFilter(), migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED))
        assert code == grpc.StatusCode.PERMISSION_DENIED and fault.name == "NoPermission"
    finally:
        auditor.close()


# -- evacuation -----------------------------------------------------------------------------------

class SlotWatch:
    """Reads the slots in use of every host of both vCenters while a batch runs; keeps the most seen."""

    def __init__(self, estate: Estate) -> None:
        self._estate = estate
        self.most: dict[str, int] = {}
        self.limits: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while not self._stop.is_set() and time.monotonic() < deadline:
            for server in self._estate.vcenters.values():
                vc = server.vcenter
                for host in vc.state.all(Host):
                    self.most[host.name] = max(self.most.get(host.name, 0), vc.slots.in_use(host.moid))
                    self.limits[host.name] = host.max_concurrent_vmotions
            time.sleep(0.002)

    def __enter__(self) -> SlotWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def evacuate(client: VCenterClient, host: str, **fields: object) -> common_pb2.Task:
    return wait_task(client, client.api.EvacuateHost(vcenter_pb2.EvacuateHostRequest(host=host, **fields)))


def test_a_host_evacuates_into_the_other_vcenter_by_free_memory_within_its_slots(estate: Estate, vc_a: VCenterClient) -> None:
    seen: list[common_pb2.Task] = []
    with SlotWatch(estate) as watch:
        started = vc_a.api.EvacuateHost(vcenter_pb2.EvacuateHostRequest(host="src", target_vcenter="vc-b"))
        for update in vc_a.api.WaitTask(vcenter_pb2.GetTaskRequest(key=started.key), timeout=120):
            seen.append(update)
    task = seen[-1]
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task
    assert task.description_id == "HostSystem.evacuate" and task.entity_name == "src"
    done = outcomes(task)
    assert set(done) == {f"web-{i}" for i in range(1, MOVERS + 1)} | {"off-1"}
    assert all(o.succeeded and o.migration.vcenter == "vc-b" and o.task for o in done.values()), task.bulk
    assert {o.migration.host for o in done.values()} == {"b2"}   # b2 has the most memory free, by far
    assert all(o.migration.hot for n, o in done.items() if n.startswith("web-"))
    assert on_host(vc_a, "src") == []
    progress = [t.progress for t in seen]
    assert progress == sorted(progress) and len(set(progress)) > 2   # one progress for the batch, that only grows
    assert watch.limits["src"] == 4 and all(watch.most[h] <= watch.limits[h] for h in watch.most)
    vc = estate.vcenters["vc-a"].vcenter
    assert 2 <= vc.slots.peak(vc.state.find(Host, name="src").moid) <= 4   # moves ran side by side, never beyond the 1 GbE limit


def test_no_more_moves_touch_one_datastore_than_its_limit(estate: Estate, vc_a: VCenterClient,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evacuation, "DATASTORE_VMOTION_LIMIT", 2)   # vSphere's is 128: every disk here is on ds-a
    with SlotWatch(estate) as watch:
        task = evacuate(vc_a, "src", target_vcenter="vc-b")
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.bulk.succeeded == MOVERS + 1
    assert 1 <= watch.most["src"] <= 2 < watch.limits["src"]   # the datastore, not the host, held it back


def test_a_host_evacuates_into_the_other_hosts_of_its_vcenter(vc_a: VCenterClient) -> None:
    task = evacuate(vc_a, "src", target_hosts=["a3"])
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task
    assert {o.migration.host for o in task.bulk.vms} == {"a3"} and task.bulk.succeeded == MOVERS + 1
    assert len(on_host(vc_a, "a3")) == MOVERS + 1 and on_host(vc_a, "src") == []


def test_a_vm_that_fits_nowhere_is_listed_with_its_fault_and_the_others_move(vc_a: VCenterClient) -> None:
    task = evacuate(vc_a, "a2", target_vcenter="vc-b", target_hosts=["b1"])
    assert task.state == common_pb2.TASK_STATE_SUCCESS and (task.bulk.succeeded, task.bulk.failed) == (2, 1), task
    big = outcomes(task)["big"]
    assert big.fault.name == "InsufficientMemoryResourcesFault" and not big.task
    assert big.fault.message == "no host has 1536 MB of memory free for big (the most free: 1024 MB)"
    assert on_host(vc_a, "a2") == ["big"]


def test_evacuation_refusals_name_what_is_wrong(vc_a: VCenterClient) -> None:
    code, fault = call_fault(vc_a.api.EvacuateHost, vcenter_pb2.EvacuateHostRequest(host="esx-nowhere"))
    assert code == grpc.StatusCode.NOT_FOUND and "esx-nowhere" in fault.message
    code, fault = call_fault(vc_a.api.EvacuateHost, vcenter_pb2.EvacuateHostRequest(host="src", target_vcenter="vc-z"))
    assert code == grpc.StatusCode.NOT_FOUND and fault.message == "vc-z is not a vCenter linked with vc-a"
    code, fault = call_fault(vc_a.api.EvacuateHost, vcenter_pb2.EvacuateHostRequest())
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "host is required"
    task = evacuate(vc_a, "src", target_vcenter="vc-b", target_hosts=["b9"])
    fault = task_fault(task)
    assert fault.name == "NotFound" and fault.message == "vc-b has no host that can take VMs named b9"
    assert len(on_host(vc_a, "src")) == MOVERS + 1   # nothing moved


# -- maintenance mode -----------------------------------------------------------------------------

def enter(client: VCenterClient, host: str, **fields: object) -> common_pb2.Task:
    return wait_task(client, client.api.EnterMaintenanceMode(vcenter_pb2.EvacuateHostRequest(host=host, **fields)))


def test_maintenance_mode_evacuates_then_refuses_new_vms_until_it_ends(estate: Estate, vc_a: VCenterClient) -> None:
    task = enter(vc_a, "a2", target_hosts=["a3"])
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.bulk.succeeded == 3, (task.error, task.bulk)
    host = vc_a.api.GetHost(common_pb2.ObjectRef(name="a2"))
    assert host.in_maintenance_mode and on_host(vc_a, "a2") == []
    types = [e.type for e in vc_a.api.QueryEvents(vcenter_pb2.EventFilter()).events]
    assert "EnteringMaintenanceModeEvent" in types and "EnteredMaintenanceModeEvent" in types

    # a VM moved into it, inside the vCenter or from the other one, is refused with InvalidHostState
    moved = wait_task(vc_a, vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(
        vm=common_pb2.ObjectRef(name="web-1"), spec=vcenter_pb2.RelocateSpec(host="a2"))))
    fault = task_fault(moved)
    assert fault.name == "InvalidHostState" and fault.message == "host a2 is in maintenance mode: web-1 cannot move there"
    # a new VM placed on it
    created = wait_task(vc_a, vc_a.api.CreateVm(vcenter_pb2.CreateVmRequest(name="new-1", host="a2", datastore="ds-a", memory_mb=16)))
    fault = task_fault(created)
    assert fault.name == "InvalidHostState" and fault.message == "host a2 is in maintenance mode: new-1 cannot be created there"
    # a second enter is refused at once
    code, fault = call_fault(vc_a.api.EnterMaintenanceMode, vcenter_pb2.EvacuateHostRequest(host="a2"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and fault.message == "host a2 is in maintenance mode already"

    done = wait_task(vc_a, vc_a.api.ExitMaintenanceMode(common_pb2.ObjectRef(name="a2")))
    assert done.state == common_pb2.TASK_STATE_SUCCESS
    assert not vc_a.api.GetHost(common_pb2.ObjectRef(name="a2")).in_maintenance_mode
    moved = wait_task(vc_a, vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(
        vm=common_pb2.ObjectRef(name="web-1"), spec=vcenter_pb2.RelocateSpec(host="a2"))))
    assert moved.state == common_pb2.TASK_STATE_SUCCESS
    code, fault = call_fault(vc_a.api.ExitMaintenanceMode, common_pb2.ObjectRef(name="a2"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and fault.message == "host a2 is not in maintenance mode"


def test_maintenance_that_cannot_evacuate_every_vm_fails_and_the_host_takes_vms_again(vc_a: VCenterClient) -> None:
    task = enter(vc_a, "a2", target_vcenter="vc-b", target_hosts=["b1"])
    fault = task_fault(task)
    assert fault.name == "InvalidState"
    assert fault.message == ("host a2 cannot enter maintenance mode: 1 VM(s) could not be evacuated (big); big: "
                             "InsufficientMemoryResourcesFault: no host has 1536 MB of memory free for big (the most free: 1024 MB)")
    assert on_host(vc_a, "a2") == ["big"]
    host = vc_a.api.GetHost(common_pb2.ObjectRef(name="a2"))
    assert not host.in_maintenance_mode
    types = [e.type for e in vc_a.api.QueryEvents(vcenter_pb2.EventFilter()).events]
    assert "CanceledHostMaintenanceEvent" in types


def test_a_vm_on_a_host_in_maintenance_cannot_be_powered_on(estate: Estate, vc_a: VCenterClient) -> None:
    """The host is marked, its powered-off VM still there (the evacuation of it failed): power on refused."""
    vc = estate.vcenters["vc-a"].vcenter
    from dataclasses import replace
    host = vc.state.find(Host, name="a2")
    vc.state.update(put=[replace(host, maintenance="inMaintenance")])
    task = wait_task(vc_a, vc_a.api.PowerOnVm(common_pb2.ObjectRef(name="off-2")))
    fault = task_fault(task)
    assert fault.name == "InvalidHostState" and fault.message == "host a2 is in maintenance mode: off-2 cannot be powered on there"


def test_a_host_in_maintenance_takes_no_vm_from_another_vcenter_and_is_no_evacuation_target(estate: Estate,
                                                                                            vc_a: VCenterClient) -> None:
    vc_b = client_of(estate, "vc-b")
    try:
        entered = wait_task(vc_b, vc_b.api.EnterMaintenanceMode(vcenter_pb2.EvacuateHostRequest(host="b2")))
        assert entered.state == common_pb2.TASK_STATE_SUCCESS and len(entered.bulk.vms) == 0   # an empty host: nothing to move
        locator = vc_a.api.ListLinkedVCenters(vcenter_pb2.ListLinkedVCentersRequest()).vcenters[0]
        moved = wait_task(vc_a, vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(
            vm=common_pb2.ObjectRef(name="web-2"), spec=vcenter_pb2.RelocateSpec(
                host="b2", datastore="ds-b", pool="cluster-b", service=vcenter_pb2.ServiceLocator(
                    instance_uuid=locator.instance_uuid, url=locator.url, ssl_thumbprint=locator.thumbprint)))))
        fault = task_fault(moved)
        assert fault.name == "InvalidHostState" and fault.message == "host b2 is in maintenance mode: web-2 cannot move there"
        assert "web-2" in on_host(vc_a, "src")   # it goes on where it was
        task = evacuate(vc_a, "src", target_vcenter="vc-b", target_hosts=["b2"])
        assert task_fault(task).message == "vc-b has no host that can take VMs named b2"
        task = evacuate(vc_a, "src", target_vcenter="vc-b")   # b1 (1 GiB) is the one left: everything fits
        assert task.state == common_pb2.TASK_STATE_SUCCESS and {o.migration.host for o in task.bulk.vms} == {"b1"}
    finally:
        vc_b.close()


def test_a_cancelled_evacuation_starts_no_more_moves_lets_those_under_way_end_and_says_how_far_it_got(
        estate: Estate, vc_a: VCenterClient) -> None:
    vc_a.emulator.AddFaultRule(fault_rule("precopy_round", "delay", part="src", delay_seconds=1.0, count=0))
    started = vc_a.api.EvacuateHost(vcenter_pb2.EvacuateHostRequest(host="src", target_hosts=["a3"]))
    deadline = time.monotonic() + 30
    while vc_a.api.GetTask(vcenter_pb2.GetTaskRequest(key=started.key)).progress_detail.count("4 moving") == 0:
        assert time.monotonic() < deadline, "the evacuation never had 4 moves running"
        time.sleep(0.02)
    vc_a.api.CancelTask(vcenter_pb2.GetTaskRequest(key=started.key))
    task = wait_task(vc_a, started)
    fault = task_fault(task)
    assert fault.name == "RequestCanceled" and task.cancelled
    moved = int(fault.arguments["moved"])   # the 4 under way, or one more if a slot freed before the cancel landed
    assert 4 <= moved < MOVERS + 1
    assert fault.message == f"the evacuation of src was cancelled: {moved} of 7 VMs had moved, the moves under way ended first"
    assert len(on_host(vc_a, "src")) == MOVERS + 1 - moved and len(on_host(vc_a, "a3")) == moved

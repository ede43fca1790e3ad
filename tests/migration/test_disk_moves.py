"""Disks on datastores (folders of the state directory) moving with their VM: across vCenters on the
vMotion stream, not at all on a shared datastore, copied in the clear when cold or on one host (rows
D1, D2), and nothing left half-made when a move fails (row V5)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from estate_helpers import client_of, fault_rule
from migration_estate import fault_of, locator_of, relocate

from linkedmode.estate import Estate, start_estate
from linkedmode.invariant import settled_invariant
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, inventory_pb2
from linkedmode.vmotion.disks import disk_digest

TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: a1, version: 7.0.3}, {name: a2, version: 7.0.3}]}]
            datastores: [{name: ds-a1, type: local, hosts: [a1]}, {name: ds-shared}]
            networks: [{name: VM Network}]
            vms:
              - {name: web, host: a1, memory_mb: 8, nics: [{network: VM Network}], disks: [{datastore: ds-shared, capacity_mb: 4}],
                 guest: {dirty_rate_mbps: 2, working_set_mb: 2}}
              - {name: db, host: a1, memory_mb: 8, migrate_encryption: required, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a1, capacity_mb: 4}, {datastore: ds-a1, capacity_mb: 2}]}
              - {name: batch, host: a1, memory_mb: 8, power_state: poweredOff, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a1, capacity_mb: 4}]}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b1, version: 7.0.3}]}]
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
"""


@pytest.fixture
def estate():
    with start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "disk-test")) as running:
        yield running


def disk_file(estate: Estate, vcenter: str, datastore: str, vm: str, disk: int = 1) -> Path:
    return estate.state_dir / "datastores" / vcenter / datastore / vm / f"Hard-disk-{disk}.vmdk"


def to_vc_b(estate: Estate, vm: str) -> common_pb2.Task:
    return relocate(client_of(estate, "vc-a"), vm, host="b1", datastore="ds-b", pool="cluster-b",
                    service=locator_of(estate, "vc-b"))


def datastore_of(client, vm: str) -> str:  # type: ignore[no-untyped-def]
    disks = client.api.GetVm(common_pb2.ObjectRef(name=vm)).disks
    names = {d.moid: d.name for d in client.api.ListDatastores(inventory_pb2.ListRequest()).datastores}
    return ",".join(sorted({names[d.datastore] for d in disks}))


def test_each_datastore_is_a_folder_and_each_disk_a_sparse_file_in_it(estate):
    assert sorted(p.name for p in (estate.state_dir / "datastores" / "vc-a").iterdir()) == ["ds-a1", "ds-shared"]
    assert (estate.state_dir / "datastores" / "vc-b" / "ds-b").is_dir()
    disk = disk_file(estate, "vc-a", "ds-a1", "db", 2)
    assert os.path.getsize(disk) == 2 << 20 and 0 < os.stat(disk).st_blocks * 512 < 1 << 20


def test_a_live_move_to_another_vcenter_carries_the_disk_on_the_stream(estate):
    source = disk_file(estate, "vc-a", "ds-shared", "web")
    digest = disk_digest(source)
    task = to_vc_b(estate, "web")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert task.migration.stream.encrypted and task.migration.disks_moved == 1
    assert task.migration.stream.disk_bytes == 4 * 64 << 10            # the seeded blocks; the holes stayed behind
    arrived = disk_file(estate, "vc-b", "ds-b", "web")
    assert disk_digest(arrived) == digest and os.path.getsize(arrived) == 4 << 20
    assert not source.exists() and not source.parent.exists()
    assert datastore_of(client_of(estate, "vc-b"), "web") == "ds-b"


def test_a_move_between_hosts_on_a_shared_datastore_copies_nothing(estate):
    source = disk_file(estate, "vc-a", "ds-shared", "web")
    before = os.stat(source)
    task = relocate(client_of(estate, "vc-a"), "web", host="a2", datastore="ds-shared")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert (task.migration.disks_moved, task.migration.stream.disk_bytes) == (0, 0)
    after = os.stat(source)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_datastore_only_move_on_one_host_copies_in_the_clear(estate):
    """Row D1: nothing crosses the vMotion network, so nothing is encrypted, even for a `required` VM; it keeps running."""
    sources = [disk_file(estate, "vc-a", "ds-a1", "db", n) for n in (1, 2)]
    digests = [disk_digest(p) for p in sources]
    vc_a = client_of(estate, "vc-a")
    task = relocate(vc_a, "db", datastore="ds-shared")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert not task.migration.encrypted and "datastore-only move" in task.migration.reason
    assert not task.migration.HasField("stream") and task.migration.disks_moved == 2
    assert [disk_digest(disk_file(estate, "vc-a", "ds-shared", "db", n)) for n in (1, 2)] == digests
    assert not any(p.exists() for p in sources)
    vm = vc_a.api.GetVm(common_pb2.ObjectRef(name="db"))
    assert vm.power_state == common_pb2.POWER_STATE_POWERED_ON and datastore_of(vc_a, "db") == "ds-shared"
    assert settled_invariant(estate) == []


def test_a_cold_move_copies_the_file(estate):
    source = disk_file(estate, "vc-a", "ds-a1", "batch")
    digest = disk_digest(source)
    task = to_vc_b(estate, "batch")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert not task.migration.hot and not task.migration.encrypted and task.migration.disks_moved == 1
    arrived = disk_file(estate, "vc-b", "ds-b", "batch")
    assert disk_digest(arrived) == digest and os.stat(arrived).st_blocks * 512 < 1 << 20     # still sparse
    assert not source.exists()


def test_a_failure_after_the_disk_crossed_leaves_it_only_on_the_source(estate):
    source = disk_file(estate, "vc-a", "ds-shared", "web")
    digest = disk_digest(source)
    client_of(estate, "vc-a").emulator.AddFaultRule(fault_rule(
        step="precopy_round", part="a1", vm="web", fault="HostCommunication", delay_seconds=0.2, count=1))   # after the disk
    task = to_vc_b(estate, "web")
    assert fault_of(task).name == "HostCommunication"
    assert not disk_file(estate, "vc-b", "ds-b", "web").exists()
    assert not (estate.state_dir / "datastores" / "vc-b" / "ds-b" / "web").exists()
    assert disk_digest(source) == digest
    assert datastore_of(client_of(estate, "vc-a"), "web") == "ds-shared"
    assert settled_invariant(estate) == []

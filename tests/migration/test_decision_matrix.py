"""The encryption decision end to end across real servers: mode x destination host x encrypted VM,
inside one vCenter and across two (rows E2-E4, E6, X1, X2)."""

from __future__ import annotations

import pytest
from estate_helpers import client_of
from migration_estate import fault_of, migration_estate, relocate, to_vc_b, vm_names

from linkedmode.model.faults import MigrationFeatureNotSupported
from linkedmode.rpc.convert import migrate_encryption_from_proto
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2

ENCRYPTED, FALLBACK, PLAIN, REFUSED = "encrypted", "fallback", "plaintext", "refused"

CROSS = [
    # VM, destination host in vc-b, outcome
    ("disabled", "b70", PLAIN), ("disabled", "b67", PLAIN), ("disabled", "b-noaes", PLAIN),
    ("opportunistic", "b70", ENCRYPTED), ("opportunistic", "b67", ENCRYPTED), ("opportunistic", "b-noaes", FALLBACK),
    ("required", "b70", ENCRYPTED), ("required", "b67", ENCRYPTED), ("required", "b-noaes", REFUSED),
    ("encrypted", "b70", ENCRYPTED), ("encrypted", "b67", ENCRYPTED), ("encrypted", "b-noaes", REFUSED),
]


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


def assert_outcome(task: common_pb2.Task, outcome: str, asked: str) -> None:
    if outcome == REFUSED:
        fault = fault_of(task)
        assert isinstance(fault, MigrationFeatureNotSupported)
        assert "encrypted vMotion is not supported" in fault.message
        return
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    result = task.migration
    assert migrate_encryption_from_proto(result.mode_asked).value == asked
    assert result.encrypted == (outcome == ENCRYPTED)
    assert result.stream.encrypted == (outcome == ENCRYPTED)
    assert result.fell_back == (outcome == FALLBACK)
    assert result.stream.rounds >= 1 and result.stream.bytes_sent > 0 and result.stream.downtime_ms > 0


@pytest.mark.parametrize("vm,host,outcome", CROSS, ids=[f"{v}-to-{h}" for v, h, _ in CROSS])
def test_across_vcenters(estate, vm, host, outcome):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, vm, host)
    assert_outcome(task, outcome, "required" if vm == "encrypted" else vm)
    moved = outcome != REFUSED
    assert (vm in vm_names(vc_b)) is moved
    assert (vm in vm_names(vc_a)) is not moved
    if outcome == FALLBACK:
        assert task.migration.reason.startswith("fell back to plaintext: host " + host)
    if outcome == REFUSED:
        assert fault_of(task).object == host


INSIDE = [("opportunistic", "a67", ENCRYPTED), ("disabled", "a67", PLAIN), ("required", "a67", ENCRYPTED)]


@pytest.mark.parametrize("vm,host,outcome", INSIDE, ids=[f"{v}-to-{h}" for v, h, _ in INSIDE])
def test_inside_one_vcenter(estate, vm, host, outcome):
    vc_a = client_of(estate, "vc-a")
    task = relocate(vc_a, vm, host=host)
    assert_outcome(task, outcome, vm)
    moved = {v.name: v for v in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}[vm]
    assert task.migration.host == host and moved.power_state == common_pb2.POWER_STATE_POWERED_ON
    assert moved.moid == task.entity


# ESXi 6.0 cannot encrypt (row E4); only the 6.7 vCenter vc-old manages it (row X8), so its rows run inside vc-old.
OLD = [("old-disabled", PLAIN), ("old-opportunistic", FALLBACK), ("old-required", REFUSED), ("old-encrypted", REFUSED)]


@pytest.mark.parametrize("vm,outcome", OLD, ids=[f"{v}-to-o60" for v, _ in OLD])
def test_to_an_esxi_6_0_host_inside_the_6_7_vcenter(estate, vm, outcome):
    vc_old = client_of(estate, "vc-old")
    task = relocate(vc_old, vm, host="o60")
    assert_outcome(task, outcome, "required" if vm == "old-encrypted" else vm.removeprefix("old-"))
    if outcome == FALLBACK:
        assert task.migration.reason == "fell back to plaintext: host o60 runs ESXi 6.0.0, before 6.5"
    if outcome == REFUSED:
        assert "host o60 runs ESXi 6.0.0, before 6.5" in fault_of(task).message and fault_of(task).object == "o60"
    hosts = {h.moid: h.name for h in vc_old.api.ListHosts(inventory_pb2.ListRequest()).hosts}
    where = {v.name: hosts[v.host] for v in vc_old.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
    assert where[vm] == ("o67" if outcome == REFUSED else "o60")

"""Admission at the source vCenter: the spec's shape before a task exists (row X3), the move to the
VM's own host, and the encryption decision's refusal (row E3) before any host hears of the move."""

from __future__ import annotations

from dataclasses import replace

import pytest
from control_plane_fakes import OLD_TARGET, FakeDestination, FakeParts, wait_until

from linkedmode.migration.admission import admit, check_request
from linkedmode.migration.arrivals import Arrivals
from linkedmode.migration.destinations import LocalDestination
from linkedmode.migration.source import Migrations
from linkedmode.migration.spec import MigrationTarget, RelocateRequest, ServiceLocator
from linkedmode.model.faults import HostNotConnected, InvalidArgument, MigrationFeatureNotSupported
from linkedmode.model.inventory import HOST_NOT_RESPONDING, Host
from linkedmode.model.settings import MigrateEncryption
from linkedmode.model.tasks import TaskState

LOCATOR = ServiceLocator("6c3e0f7a-0000-4000-8000-00000000000b", "127.0.0.1:4443", "AB:CD")
FULL = MigrationTarget("esx-b1", "ds-b", "cluster-b")


# -- check_request: the shape -------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["host", "datastore", "pool"])
def test_a_move_to_another_vcenter_names_host_datastore_and_pool(missing: str) -> None:
    target = MigrationTarget(**{**FULL.__dict__, missing: ""})
    with pytest.raises(InvalidArgument) as caught:
        check_request(RelocateRequest(target, LOCATOR))
    assert caught.value.message == f"spec.{missing} is required when spec.service names another vCenter"
    assert caught.value.arguments["argument"] == f"spec.{missing}"


def test_a_move_to_another_vcenter_with_every_field_passes() -> None:
    check_request(RelocateRequest(FULL, LOCATOR))


@pytest.mark.parametrize(("locator", "message"), [
    (ServiceLocator("", "127.0.0.1:4443", "AB:CD"), "spec.service.instance_uuid is required"),
    (ServiceLocator("6c3e", "127.0.0.1:4443", ""), "spec.service.ssl_thumbprint is required"),
    (ServiceLocator("6c3e", "no port here", "AB:CD"), "spec.service.url"),
])
def test_a_service_locator_needs_its_fields(locator: ServiceLocator, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_request(RelocateRequest(FULL, locator))
    assert message in caught.value.message


def test_a_move_inside_the_vcenter_names_a_host_or_a_datastore() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_request(RelocateRequest(MigrationTarget(host="", datastore="", pool="cluster-a")))
    assert caught.value.message == "give spec.host, spec.datastore or both"


@pytest.mark.parametrize("target", [MigrationTarget("esx-2"), MigrationTarget("", "ds-other"), MigrationTarget("esx-2", "ds-other")])
def test_a_move_inside_the_vcenter_with_a_host_or_a_datastore_passes(target: MigrationTarget) -> None:
    check_request(RelocateRequest(target))


def test_a_bad_shape_is_refused_before_a_task_exists(parts: FakeParts, migrations: Migrations) -> None:
    with pytest.raises(InvalidArgument):
        migrations.relocate(parts.vm("vm-hot"), RelocateRequest(MigrationTarget("")), "administrator")
    assert parts.state.tasks() == []


# -- admit ----------------------------------------------------------------------------------------


def test_a_move_to_the_vms_own_host_without_a_datastore_is_refused(parts: FakeParts, arrivals: Arrivals) -> None:
    vm = parts.vm("vm-hot")
    with pytest.raises(InvalidArgument) as caught:
        admit(parts.vc, vm, RelocateRequest(MigrationTarget("esx-1")), LocalDestination(parts.vc, arrivals))
    assert caught.value.message == "vm-hot is already on esx-1"
    assert caught.value.arguments["argument"] == "spec.host"


@pytest.mark.parametrize("target", [MigrationTarget("esx-1", "ds-other"), MigrationTarget("", "ds-other")],
                         ids=["own host and a datastore", "a datastore only"])
def test_a_datastore_only_move_on_the_vms_own_host_is_admitted(parts: FakeParts, arrivals: Arrivals, target: MigrationTarget) -> None:
    vm = parts.vm("vm-hot")
    admission = admit(parts.vc, vm, RelocateRequest(target), LocalDestination(parts.vc, arrivals))
    assert admission.destination_host.moid == vm.host
    assert not admission.streams                     # nothing crosses the vMotion network (row D1)
    assert not admission.decision.encrypted


def test_a_move_to_another_host_is_admitted_encrypted(parts: FakeParts, arrivals: Arrivals) -> None:
    admission = admit(parts.vc, parts.vm("vm-required"), RelocateRequest(MigrationTarget("esx-2")),
                      LocalDestination(parts.vc, arrivals))
    assert admission.streams and admission.decision.encrypted and admission.arrival.encrypted
    assert admission.decision.asked == MigrateEncryption.REQUIRED


def test_required_to_a_host_that_cannot_is_refused_before_any_host_call(parts: FakeParts) -> None:
    destination = FakeDestination(host=OLD_TARGET)
    with pytest.raises(MigrationFeatureNotSupported) as caught:
        admit(parts.vc, parts.vm("vm-required"), RelocateRequest(FULL), destination)
    assert caught.value.message == ("migrate_encryption is required but host esx-b-old runs ESXi 6.0.0, before 6.5: "
                                    "encrypted vMotion is not supported")
    assert caught.value.object == "esx-b-old"
    assert destination.called() == ["check"]
    assert parts.hosts.calls() == {}


def test_opportunistic_to_a_host_that_cannot_falls_back(parts: FakeParts) -> None:
    admission = admit(parts.vc, parts.vm("vm-hot"), RelocateRequest(FULL), FakeDestination(host=OLD_TARGET))
    assert not admission.decision.encrypted and admission.decision.fell_back


def test_the_refusal_ends_the_task_with_no_host_told_of_the_move(parts: FakeParts, migrations: Migrations) -> None:
    """Inside the vCenter: the destination host is asked only whether it answers (its heartbeat)."""
    vm = parts.vm("vm-required")
    task = migrations.relocate(vm, RelocateRequest(MigrationTarget("esx-old")), "administrator")
    wait_until(lambda: parts.state.task(task.key).state.done, what="the task's end")
    ended = parts.state.task(task.key)
    assert ended.state == TaskState.ERROR
    assert isinstance(ended.error, MigrationFeatureNotSupported)
    assert "host esx-old has no AES-NI" in ended.error.message
    assert parts.hosts.calls() == {"esx-old": ["about"]}
    assert parts.slots.in_use(vm.host) == 0
    assert parts.state.journal("outgoing") == []


def test_a_vm_on_a_host_that_is_not_responding_is_refused_before_the_destination_hears(parts: FakeParts, arrivals: Arrivals) -> None:
    vm = parts.vm("vm-hot")
    source = parts.state.get(vm.host, Host)
    parts.state.update(put=[replace(source, connection_state=HOST_NOT_RESPONDING)])
    destination = FakeDestination()
    with pytest.raises(HostNotConnected) as caught:
        admit(parts.vc, vm, RelocateRequest(MigrationTarget("esx-2")), destination)
    assert caught.value.message == "vm-hot is on host esx-1, which is not responding: it moves once its vCenter reaches the host again"
    assert destination.called() == []

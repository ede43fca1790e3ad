"""linkedmode.client against a real estate over mutual TLS: connect from a state directory or from
certificate files, find by name, relocate with a locator from GetAbout, follow tasks with a progress
callback, read and watch events, and faults raised as their vSphere classes."""

from __future__ import annotations

import threading

import grpc
import pytest

import linkedmode.client as lm
from linkedmode.client import (
    Client,
    Fault,
    InvalidPowerState,
    MigrationFeatureNotSupported,
    NotFound,
    NotRunning,
    PeerUnreachable,
    connect,
    connect_with_certificates,
    faults_raised,
    wait_task,
)
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import credential_paths
from linkedmode.estate import start_estate
from linkedmode.model import faults as model_faults
from linkedmode.topology import default_topology
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("state")
    with start_estate(default_topology(), path) as estate:
        yield path, estate


@pytest.fixture
def client(state_dir):
    with connect(state_dir[0]) as opened:
        yield opened


def test_every_vsphere_fault_is_a_class_of_the_client_under_one_base():
    for name, cls in model_faults.all_faults().items():
        assert getattr(lm, name) is cls and issubclass(cls, Fault)
    assert issubclass(InvalidPowerState, Fault) and lm.fault_class("TaskInProgress") is model_faults.TaskInProgress
    with pytest.raises(NotFound, match="no fault named 'Nope'"):
        lm.fault_class("Nope")


def test_connect_from_a_state_directory_finds_objects_by_name_across_vcenters(client):
    assert client.names == ["vc-a", "vc-b", "vc-legacy"]
    assert client.find_vm("web-b1").vcenter == "vc-b"
    assert client.find_host("esx-l2").vcenter == "vc-legacy"
    vcenter, vm = client.get_vm("app-legacy")
    assert vcenter == "vc-legacy" and vm.name == "app-legacy" and client.host_name(vcenter, vm.host) == "esx-l1"
    with pytest.raises(NotFound, match="no VM named 'ghost' in vc-a, vc-b, vc-legacy"):
        client.find_vm("ghost")
    with pytest.raises(NotFound, match="no host named 'esx-z9'"):
        client.find_host("esx-z9")
    with pytest.raises(NotFound, match="no vCenter 'vc-z'"):
        client.vcenter("vc-z")


def test_connect_where_nothing_runs_says_how_to_start_it(tmp_path):
    with pytest.raises(NotRunning, match="start one with: linkedmode up --state-dir"):
        connect(tmp_path)


def test_connect_with_certificate_files(state_dir):
    path, estate = state_dir
    cert, key, ca = credential_paths(path / "pki", Identity("vsphere.local", "user", "auditor"))
    with connect_with_certificates({"vc-a": estate.vcenters["vc-a"].address}, certificate=cert, key=key, ca=ca) as client:
        assert client.credential.identity.name == "auditor"
        assert client.find_vm("app-required").vcenter == "vc-a"
        with pytest.raises(lm.NoPermission):          # read-only: may read, not power
            client.power_off("app-required")
        assert client.perf("app-required").instance_uuid              # read-only may read the history (row X5)
        assert client.announcements("esx-a1") == []                  # and what a host announced (row V7)


def test_a_certificate_from_another_ca_is_refused_as_peer_unreachable(state_dir):
    path, estate = state_dir
    cert, key, _ = credential_paths(path / "pki", Identity("corp.local", "user", "administrator"))
    _, _, ca = credential_paths(path / "pki", Identity("vsphere.local", "user", "administrator"))
    client = connect_with_certificates({"vc-a": estate.vcenters["vc-a"].address}, certificate=cert, key=key, ca=ca)
    with client, pytest.raises(PeerUnreachable, match="TLS handshake"):
        client.find_vm("app-required")


def test_a_certificate_without_an_identity_is_refused(tmp_path, state_dir):
    path, _ = state_dir
    ca = path / "pki" / "vsphere.local" / "ca.pem"
    with pytest.raises(lm.InvalidArgument, match="names no linkedmode identity"):
        connect_with_certificates({}, certificate=ca, key=ca, ca=ca)


def test_relocate_across_vcenters_fills_the_locator_from_getabout_and_reports_progress(client):
    source, spec = client.relocate_request("app-opportunistic", "esx-b1", to_vcenter="vc-b")
    about = client.vcenter("vc-b").api.GetAbout(vcenter_pb2.GetAboutRequest())
    assert source == "vc-a"
    assert (spec.service.instance_uuid, spec.service.url, spec.service.ssl_thumbprint) == (about.instance_uuid, about.url,
                                                                                           about.thumbprint)
    assert spec.host == "esx-b1" and spec.datastore == "ds-b-shared" and spec.pool == "cluster-b"
    seen: list[common_pb2.Task] = []
    task = client.relocate("app-opportunistic", "esx-b1", to_vcenter="vc-b", on_progress=seen.append)
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.migration.vcenter == "vc-b" and task.migration.encrypted
    assert seen[-1].state == common_pb2.TASK_STATE_SUCCESS and seen[-1].progress == 100
    assert [t.progress for t in seen] == sorted(t.progress for t in seen)
    assert client.find_vm("app-opportunistic").vcenter == "vc-b"
    back = client.relocate("app-opportunistic", "esx-a1", to_vcenter="vc-a")
    assert back.migration.vcenter == "vc-a"
    same, local = client.relocate_request("app-opportunistic", "esx-a2")
    assert same == "vc-a" and not local.HasField("service") and local.datastore == ""


def test_a_refused_relocate_raises_its_fault_or_returns_the_task(client):
    with pytest.raises(MigrationFeatureNotSupported, match="esx-b3") as refused:
        client.relocate("app-required", "esx-b3", to_vcenter="vc-b")
    assert refused.value.name == "MigrationFeatureNotSupported"
    task = client.relocate("app-required", "esx-b3", to_vcenter="vc-b", raise_fault=False)
    assert task.state == common_pb2.TASK_STATE_ERROR and task.error.name == "MigrationFeatureNotSupported"
    assert isinstance(lm.task_fault(task), MigrationFeatureNotSupported)
    answer = client.check_relocate("app-required", "esx-b3", to_vcenter="vc-b")
    assert [f.name for f in answer.errors] == ["MigrationFeatureNotSupported"]


def test_operations_raise_the_vsphere_fault_by_class(client):
    with pytest.raises(InvalidPowerState, match="only while it is powered off"):
        client.set_migrate_encryption("app-disabled", "required")
    with pytest.raises(NotFound):
        client.power_on("ghost")
    with pytest.raises(NotFound) as found, faults_raised():
        client.vcenter("vc-a").api.GetVm(common_pb2.ObjectRef(name="ghost"))
    assert isinstance(found.value.__cause__, grpc.RpcError)


def test_create_snapshot_power_and_destroy_through_tasks(client):
    request = vcenter_pb2.CreateVmRequest(name="lib-vm", host="esx-a1", datastore="ds-a-shared", memory_mb=32)
    created = client.create_vm(request)
    assert created.created.name == "lib-vm" and client.find_vm("lib-vm").vcenter == "vc-a"
    assert client.snapshot("lib-vm", "before").state == common_pb2.TASK_STATE_SUCCESS
    assert client.set_migrate_encryption("lib-vm", "required").reconfigure.changed == ["migrate_encryption"]
    assert client.power_on("lib-vm").power.power_state == common_pb2.POWER_STATE_POWERED_ON
    client.power_off("lib-vm")
    client.destroy("lib-vm")
    assert client.find_vms("lib-vm") == []


def test_events_are_read_with_their_vcenter_and_watched_as_they_come(client):
    before = max(e.key for _, e in client.events(vcenter="vc-a"))
    watched: list[common_pb2.Event] = []
    ready = threading.Event()

    def watch() -> None:
        for event in client.watch_events("vc-a", vm="batch-off", after_key=before, types=("VmPoweredOnEvent",)):
            watched.append(event)
            ready.set()
            return

    watcher = threading.Thread(target=watch)
    watcher.start()
    client.power_on("batch-off")
    assert ready.wait(10)
    watcher.join(10)
    assert [e.type for e in watched] == ["VmPoweredOnEvent"] and watched[0].vm_name == "batch-off"
    found = list(client.events(vm="batch-off", after_key=before))
    assert ("vc-a", "VmPoweredOnEvent") in [(vc, e.type) for vc, e in found]
    client.power_off("batch-off")


def test_wait_task_follows_a_task_started_with_the_raw_stubs(client):
    vc = client.vcenter("vc-a")
    task = vc.api.PowerOffVm(common_pb2.ObjectRef(name="app-disabled"))
    ended = wait_task(vc, task, timeout=60)
    assert ended.state == common_pb2.TASK_STATE_SUCCESS
    again = vc.api.PowerOffVm(common_pb2.ObjectRef(name="app-disabled"))
    with pytest.raises(InvalidPowerState):
        wait_task(vc, again, timeout=60)
    client.power_on("app-disabled")


def test_a_client_is_built_from_addresses_and_a_credential(state_dir):
    _, estate = state_dir
    credential = estate.credential("vsphere.local", "user", "administrator")
    with Client({"vc-b": estate.vcenters["vc-b"].address}, credential) as client:
        assert [name for name, _ in client.vms()] == ["vc-b", "vc-b"]

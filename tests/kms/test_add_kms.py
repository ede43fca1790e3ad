"""A KMS added to a running vCenter as a Standard Key Provider (`kms add`): reached over mutual TLS and
found to be that KMS before it is taken, kept across a restart, and used to encrypt a VM."""

from __future__ import annotations

import pytest
from estate_helpers import call_fault, client_of, vm_ref, wait_task
from migration_estate import migration_estate

from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import CertificateAuthority
from linkedmode.kms.process import KmsProcess
from linkedmode.model.faults import AlreadyExists, InvalidArgument, KmsUnreachable
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    with migration_estate(tmp_path_factory.mktemp("state")) as running:
        yield running


@pytest.fixture(scope="module")
def extra_kms(estate, tmp_path_factory):
    ca = CertificateAuthority.load(estate.ca_root, "vsphere.local")
    credential = ca.issue(Identity("vsphere.local", "kms", "kms-extra"))
    with KmsProcess("kms-extra", credential, [ca.cert_pem], tmp_path_factory.mktemp("kms-extra")).start() as process:
        yield process


def add(estate, vcenter: str, name: str, address: str):
    return client_of(estate, vcenter).api.AddKeyProvider(vcenter_pb2.AddKeyProviderRequest(name=name, kms_address=address))


def test_an_added_kms_is_listed_kept_and_used(estate, extra_kms):
    info = add(estate, "vc-b", "kms-extra", extra_kms.address)
    assert (info.name, info.native, info.kms_address) == ("kms-extra", False, extra_kms.address)
    client = client_of(estate, "vc-b")
    names = [p.name for p in client.api.ListKeyProviders(vcenter_pb2.ListKeyProvidersRequest()).providers]
    assert names == ["kms-shared", "kms-extra"]
    encrypt = vcenter_pb2.CryptoSpecEncrypt(key_provider="kms-extra")
    spec = vcenter_pb2.VirtualMachineConfigSpec(crypto=vcenter_pb2.CryptoSpec(encrypt=encrypt))
    vm = next(v for v in client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms if not v.crypto.encrypted and not v.snapshots)
    if vm.power_state == common_pb2.POWER_STATE_POWERED_ON:
        assert wait_task(client, client.api.PowerOffVm(vm_ref(vm.name))).state == common_pb2.TASK_STATE_SUCCESS
    task = wait_task(client, client.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(vm=vm_ref(vm.name), spec=spec)))
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error

    estate.restart_vcenter("vc-b")
    again = client_of(estate, "vc-b").api.ListKeyProviders(vcenter_pb2.ListKeyProvidersRequest()).providers
    assert [(p.name, p.kms_address) for p in again][-1] == ("kms-extra", extra_kms.address)


def test_a_kms_is_added_only_once_it_answers_as_itself(estate, extra_kms):
    _, fault = call_fault(add, estate, "vc-a", "kms-other", extra_kms.address)    # answers, but as kms-extra
    assert isinstance(fault, KmsUnreachable)
    assert fault.message.endswith("is kms kms-extra@vsphere.local, not kms kms-other@vsphere.local")
    _, fault = call_fault(add, estate, "vc-a", "kms-gone", "127.0.0.1:1")
    assert isinstance(fault, KmsUnreachable) and "does not answer" in fault.message
    _, fault = call_fault(add, estate, "vc-a", "kms-shared", extra_kms.address)
    assert isinstance(fault, AlreadyExists) and fault.message == "vc-a already has a key provider kms-shared"
    _, fault = call_fault(add, estate, "vc-a", "nkp-x", extra_kms.address)
    assert isinstance(fault, InvalidArgument) and "names a Native Key Provider" in fault.message
    _, fault = call_fault(add, estate, "vc-a", "kms-x", "no-port")
    assert isinstance(fault, InvalidArgument) and fault.message == "KMS address 'no-port' is not IP:PORT"
    _, fault = call_fault(add, estate, "vc-a", "kms-x", "kms.example:5696")        # no name lookups
    assert isinstance(fault, InvalidArgument) and fault.message == "KMS address 'kms.example:5696' is not IP:PORT"
    names = [p.name for p in client_of(estate, "vc-a").api.ListKeyProviders(vcenter_pb2.ListKeyProvidersRequest()).providers]
    assert names == ["kms-shared", "nkp-vc-a"]

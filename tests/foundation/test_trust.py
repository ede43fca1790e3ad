"""Trust, enforced: who may open a connection to each listener, and who may call what."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from estate_helpers import call_fault, client_of
from grpc_health.v1 import health_pb2, health_pb2_grpc

from linkedmode.client import connect_host, connect_vcenter
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import CertificateAuthority, Credential
from linkedmode.model.faults import InvalidArgument, NoPermission
from linkedmode.v1 import common_pb2, emulator_pb2, host_agent_pb2, host_agent_pb2_grpc, linked_mode_pb2, vcenter_pb2


def listener_address(estate, kind: str, name: str) -> str:
    return (estate.vcenters if kind == "vcenter" else estate.hosts)[name].address


def health_check(estate, kind: str, name: str, channel_credentials: grpc.ChannelCredentials) -> health_pb2.HealthCheckResponse:
    server = Identity("vsphere.local", kind, name)
    options = [("grpc.ssl_target_name_override", server.dns_name)]
    with grpc.secure_channel(listener_address(estate, kind, name), channel_credentials, options=options) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)


def vsphere_ca(estate) -> bytes:
    return estate.credential("vsphere.local", "user", "administrator").ca_pem


def as_channel_credentials(credential: Credential, trust: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=trust, private_key=credential.key_pem, certificate_chain=credential.cert_pem)


def test_a_client_of_the_domain_is_let_in_by_every_listener(estate):
    """The control for the refusals below: the same call with a good certificate works."""
    good = estate.credential("vsphere.local", "user", "auditor")
    for kind, name in every_listener(estate):
        reply = health_check(estate, kind, name, as_channel_credentials(good, vsphere_ca(estate)))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def every_listener(estate):
    yield from (("vcenter", name) for name, server in estate.vcenters.items() if server.domain.name == "vsphere.local")
    yield from (("host", name) for name, server in estate.hosts.items() if server.state.domain == "vsphere.local")


def assert_refused_everywhere(estate, channel_credentials: grpc.ChannelCredentials) -> None:
    refused = []
    for kind, name in every_listener(estate):
        with pytest.raises(grpc.RpcError) as failure:
            health_check(estate, kind, name, channel_credentials)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE, (kind, name)
        refused.append(name)
    assert len(refused) == 10   # vsphere.local: 3 vCenters and 7 hosts


def test_a_client_without_certificate_is_refused_by_every_listener(estate):
    assert_refused_everywhere(estate, grpc.ssl_channel_credentials(root_certificates=vsphere_ca(estate)))


def test_a_client_of_another_sso_domain_is_refused_by_every_listener(estate):
    stranger = estate.credential("corp.local", "user", "administrator")
    assert_refused_everywhere(estate, as_channel_credentials(stranger, vsphere_ca(estate)))


def test_an_expired_certificate_is_refused_by_every_listener(estate):
    ca = CertificateAuthority.load(estate.ca_root, "vsphere.local")
    now = dt.datetime.now(dt.UTC)
    expired = ca.issue(Identity("vsphere.local", "user", "administrator"),
                       not_valid_before=now - dt.timedelta(days=30), not_valid_after=now - dt.timedelta(days=1))
    assert_refused_everywhere(estate, as_channel_credentials(expired, vsphere_ca(estate)))


def test_a_self_made_certificate_claiming_the_domain_is_refused(estate):
    forger = CertificateAuthority.create("vsphere.local")
    forged = forger.issue(Identity("vsphere.local", "user", "administrator"))
    with pytest.raises(grpc.RpcError) as refused:
        health_check(estate, "vcenter", "vc-a", as_channel_credentials(forged, vsphere_ca(estate)))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_host_identity_cannot_call_linked_mode(estate):
    host = estate.credential("vsphere.local", "host", "esx-a1")
    client = connect_vcenter(estate.vcenters["vc-a"].address, host, "vc-a")
    code, fault = call_fault(client.linked_mode.ListPeers, linked_mode_pb2.ListPeersRequest())
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert isinstance(fault, NoPermission)
    assert "only for the other vCenters of vsphere.local" in fault.message and "esx-a1" in fault.message


def test_a_user_cannot_call_linked_mode(estate):
    client = client_of(estate, "vc-a")
    code, fault = call_fault(client.linked_mode.ListPeers, linked_mode_pb2.ListPeersRequest())
    assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(fault, NoPermission)


def test_a_peer_vcenter_can_call_linked_mode_but_not_pose_as_another(estate):
    vc_b = estate.credential("vsphere.local", "vcenter", "vc-b")
    client = connect_vcenter(estate.vcenters["vc-a"].address, vc_b, "vc-a")
    peers = client.linked_mode.ListPeers(linked_mode_pb2.ListPeersRequest()).peers
    assert {p.name for p in peers} == {"vc-b", "vc-legacy"}
    code, fault = call_fault(client.linked_mode.Hello, linked_mode_pb2.PeerInfo(name="vc-legacy"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    assert "cannot introduce itself as 'vc-legacy'" in fault.message


def test_the_vcenters_of_one_domain_are_linked_and_the_other_domain_is_not(estate):
    linked = {name: {p.name for p in server.vcenter.peers()} for name, server in estate.vcenters.items()}
    assert linked == {"vc-a": {"vc-b", "vc-legacy"}, "vc-b": {"vc-a", "vc-legacy"},
                      "vc-legacy": {"vc-a", "vc-b"}, "vc-corp": set()}
    with pytest.raises(grpc.RpcError) as refused:
        corp = estate.credential("corp.local", "vcenter", "vc-corp")
        connect_vcenter(estate.vcenters["vc-a"].address, corp, "vc-a", trust=vsphere_ca(estate)).linked_mode.Hello(
            linked_mode_pb2.PeerInfo(name="vc-corp"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_vcenter_cannot_call_another_vcenters_host(estate):
    vc_b = estate.credential("vsphere.local", "vcenter", "vc-b")
    stub = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts["esx-a1"].address, vc_b, "esx-a1"))
    code, fault = call_fault(stub.GetAbout, host_agent_pb2.HostAboutRequest())
    assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(fault, NoPermission)
    assert "managed by vc-a" in fault.message
    vc_a = estate.credential("vsphere.local", "vcenter", "vc-a")
    own = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts["esx-a1"].address, vc_a, "esx-a1"))
    assert own.GetAbout(host_agent_pb2.HostAboutRequest()).managed_by == "vc-a"


def test_a_user_cannot_call_a_host(estate):
    admin = estate.credential("vsphere.local", "user", "administrator")
    stub = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts["esx-a1"].address, admin, "esx-a1"))
    code, _ = call_fault(stub.ListVms, host_agent_pb2.ListHostVmsRequest())
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_a_vcenter_identity_cannot_use_the_public_api(estate):
    vc_b = estate.credential("vsphere.local", "vcenter", "vc-b")
    client = connect_vcenter(estate.vcenters["vc-a"].address, vc_b, "vc-a")
    code, fault = call_fault(client.api.ListVms, vcenter_pb2.ListVmsRequest())
    assert code == grpc.StatusCode.PERMISSION_DENIED and "is for users of vsphere.local" in fault.message


@pytest.mark.parametrize("call,request_", [
    ("PowerOnVm", common_pb2.ObjectRef(name="batch-off")),
    ("PowerOffVm", common_pb2.ObjectRef(name="app-disabled")),
    ("ReconfigVm", vcenter_pb2.ReconfigVmRequest(vm=common_pb2.ObjectRef(name="batch-off"),
                                                 spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=3))),
])
def test_a_read_only_user_cannot_change_a_vm(estate, call, request_):
    auditor = client_of(estate, "vc-a", "auditor")
    code, fault = call_fault(getattr(auditor.api, call), request_)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert isinstance(fault, NoPermission)
    assert fault.message == f"user auditor (read-only) may not call {call}: it needs the admin role"
    assert auditor.api.GetVm(common_pb2.ObjectRef(name="batch-off")).power_state == common_pb2.POWER_STATE_POWERED_OFF
    assert not auditor.api.ListTasks(vcenter_pb2.ListTasksRequest()).tasks


def test_a_read_only_user_can_read(estate):
    auditor = client_of(estate, "vc-a", "auditor")
    names = {vm.name for vm in auditor.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
    assert {"app-disabled", "app-opportunistic", "app-required", "db-encrypted", "batch-off"} <= names


def test_a_read_only_user_cannot_reset_the_emulator(estate):
    auditor = client_of(estate, "vc-a", "auditor")
    code, _ = call_fault(auditor.emulator.Reset, emulator_pb2.ResetRequest())
    assert code == grpc.StatusCode.PERMISSION_DENIED

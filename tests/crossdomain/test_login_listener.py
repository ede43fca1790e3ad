"""A vCenter's login address (row X7): server-only TLS, a password for a session, the session for
every other call; the user's role applies; nothing but SessionManager, VCenter and a migration's
LinkedMode calls is served there, and the main listener still requires a certificate."""

from __future__ import annotations

import grpc
import pytest
from cross_domain_helpers import DEMO_PASSWORD, SESSION_HEADER, corp_locator, login, login_channel, to_corp
from estate_helpers import call_fault, client_of, task_fault

from linkedmode.crypto.identity import Identity
from linkedmode.crypto.passwords import hash_password
from linkedmode.estate import start_estate
from linkedmode.model.faults import InvalidArgument, InvalidLogin, NoPermission, NotAuthenticated, NotFound
from linkedmode.rpc.faults import fault_from_proto
from linkedmode.topology import default_topology
from linkedmode.topology.spec import UserSpec
from linkedmode.v1 import (
    common_pb2,
    emulator_pb2,
    emulator_pb2_grpc,
    linked_mode_pb2,
    linked_mode_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
    vcenter_pb2,
    vcenter_pb2_grpc,
)
from linkedmode.vcenter.sessions import Sessions


@pytest.fixture(scope="module")
def estate():
    with start_estate(default_topology()) as running:
        yield running


@pytest.fixture
def channel(estate):
    with login_channel(estate, "vc-corp") as opened:
        yield opened


def session_of(channel, user: str = "administrator") -> tuple[tuple[str, str], ...]:
    return ((SESSION_HEADER, login(channel, user, DEMO_PASSWORD).session_id),)


def test_login_opens_a_session_that_serves_vcenter_until_logout(channel):
    session = login(channel, "administrator@corp.local", DEMO_PASSWORD)
    assert (session.user_name, session.sso_domain, session.role, session.vcenter) == ("administrator", "corp.local", "admin", "vc-corp")
    metadata = ((SESSION_HEADER, session.session_id),)
    api = vcenter_pb2_grpc.VCenterStub(channel)
    assert api.GetAbout(vcenter_pb2.GetAboutRequest(), metadata=metadata).name == "vc-corp"
    session_pb2_grpc.SessionManagerStub(channel).Logout(session_pb2.LogoutRequest(), metadata=metadata)
    code, fault = call_fault(api.GetAbout, vcenter_pb2.GetAboutRequest(), metadata=metadata)
    assert code == grpc.StatusCode.UNAUTHENTICATED and isinstance(fault, NotAuthenticated)
    assert fault.message == "no valid session on vc-corp: log in first (SessionManager.Login)"


def test_a_wrong_password_or_another_domain_is_an_invalid_login(channel):
    for user, password in (("administrator", "wrong"), ("administrator@vsphere.local", DEMO_PASSWORD), ("nobody", DEMO_PASSWORD)):
        code, fault = call_fault(login, channel, user, password)
        assert code == grpc.StatusCode.UNAUTHENTICATED and isinstance(fault, InvalidLogin)
        assert fault.message == "cannot log in to vc-corp: incorrect user name or password"


def test_a_call_without_a_session_is_refused(channel):
    code, fault = call_fault(vcenter_pb2_grpc.VCenterStub(channel).GetAbout, vcenter_pb2.GetAboutRequest())
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert fault.message.startswith("GetAbout needs a session: log in with SessionManager.Login")


def test_the_users_role_applies(channel):
    metadata = session_of(channel, "auditor")
    api = vcenter_pb2_grpc.VCenterStub(channel)
    assert api.ListVms(vcenter_pb2.ListVmsRequest(), metadata=metadata).vms
    code, fault = call_fault(api.PowerOffVm, common_pb2.ObjectRef(name="app-corp"), metadata=metadata)
    assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(fault, NoPermission)
    assert fault.message == "user auditor (read-only) may not call PowerOffVm: it needs the admin role"


def test_emulator_and_linking_are_not_served_at_the_login_address(channel):
    metadata = session_of(channel)
    code, _ = call_fault(emulator_pb2_grpc.EmulatorStub(channel).Reset, emulator_pb2.ResetRequest(), metadata=metadata)
    assert code == grpc.StatusCode.UNIMPLEMENTED
    code, fault = call_fault(linked_mode_pb2_grpc.LinkedModeStub(channel).Hello, linked_mode_pb2.PeerInfo(name="vc-evil"),
                             metadata=metadata)
    assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(fault, NoPermission)
    assert fault.message == "LinkedMode.Hello is not served at the login address of vc-corp"


def test_a_session_user_cannot_speak_for_a_vcenter_of_the_domain(estate, channel):
    api = linked_mode_pb2_grpc.LinkedModeStub(channel)
    request = linked_mode_pb2.IncomingMigrationRequest(source_vcenter="vc-corp", host="esx-c1")
    request.vm.name, request.vm.instance_uuid = "x", "4213b9d8-0000-0000-0000-000000000001"
    code, fault = call_fault(api.CheckMigration, request, metadata=session_of(channel))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    assert fault.message == "user administrator@corp.local cannot migrate on behalf of 'vc-corp', a vCenter of corp.local"


def test_the_main_listener_still_requires_a_certificate(estate):
    server = estate.vcenters["vc-corp"]
    trust = (estate.pki_dir / "corp.local" / "ca.pem").read_bytes()
    options = [("grpc.ssl_target_name_override", Identity("corp.local", "vcenter", "vc-corp").dns_name)]
    credentials = grpc.ssl_channel_credentials(root_certificates=trust)
    with grpc.secure_channel(server.address, credentials, options=options) as bare, pytest.raises(grpc.RpcError) as refused:
        vcenter_pb2_grpc.VCenterStub(bare).GetAbout(vcenter_pb2.GetAboutRequest(), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_domain_without_passwords_has_no_login_address(estate):
    client = client_of(estate, "vc-a")
    try:
        assert client.api.GetAbout(vcenter_pb2.GetAboutRequest()).login_url == ""
    finally:
        client.close()
    assert estate.vcenters["vc-corp"].vcenter.login_url


def test_a_locator_whose_instance_uuid_is_not_the_vcenter_at_its_url(estate):
    locator = corp_locator(estate)
    locator.instance_uuid = "11111111-1111-1111-1111-111111111111"
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, InvalidArgument)
    assert fault.message.startswith("ServiceLocator.instance_uuid 11111111-1111-1111-1111-111111111111 does not match vc-corp")


def test_a_locator_credential_without_a_password(estate):
    locator = corp_locator(estate)
    locator.credential.password = ""
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, InvalidArgument) and fault.message == "ServiceLocator.credential.password is required"


def test_check_relocate_meets_the_same_invalid_login_and_then_agrees(estate):
    sessions = estate.vcenters["vc-corp"].sessions
    before = sessions.count()
    client = client_of(estate, "vc-a")
    try:
        def check(password: str) -> vcenter_pb2.CheckRelocateResponse:
            spec = vcenter_pb2.RelocateSpec(host="esx-c1", datastore="ds-corp-shared", pool="cluster-corp",
                                            service=corp_locator(estate, password=password))
            return client.api.CheckRelocate(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="app-required"), spec=spec))

        refused, fine = check("wrong"), check(DEMO_PASSWORD)
    finally:
        client.close()
    assert [fault_from_proto(f).name for f in refused.errors] == ["InvalidLogin"]
    assert not fine.errors and fine.vcenter == "vc-corp" and fine.encrypted
    assert sessions.count() == before   # CheckRelocate logged out again


def test_a_session_ends_after_its_idle_time_and_at_logout():
    now = [0.0]
    sessions = Sessions("vc", "corp.local", [UserSpec("ann", "admin", hash_password("pw-1"))], idle_seconds=10, clock=lambda: now[0])
    first, second = (sessions.open(sessions.authenticate("ann", "pw-1")) for _ in range(2))
    now[0] = 9
    assert sessions.principal(first.session_id).name == "ann"   # used: idle time starts again
    now[0] = 15
    assert sessions.principal(first.session_id).name == "ann"
    with pytest.raises(NotAuthenticated):
        sessions.principal(second.session_id)
    sessions.logout(first.session_id)
    with pytest.raises(NotAuthenticated):
        sessions.principal(first.session_id)
    with pytest.raises(InvalidLogin):
        sessions.authenticate("ann", "pw-2")


def test_a_credential_for_a_linked_vcenter_is_not_used(estate):
    """The linked path needs no credential: a locator naming vc-b moves the VM over LinkedMode as before."""
    client = client_of(estate, "vc-a")
    try:
        about = client.api.ListLinkedVCenters(vcenter_pb2.ListLinkedVCentersRequest()).vcenters
        vc_b = next(v for v in about if v.name == "vc-b")
        locator = vcenter_pb2.ServiceLocator(instance_uuid=vc_b.instance_uuid, url=vc_b.url, ssl_thumbprint=vc_b.thumbprint,
                                             credential=vcenter_pb2.ServiceLocatorNamePassword(username="x", password="y"))
        spec = vcenter_pb2.RelocateSpec(host="esx-b1", datastore="ds-b-shared", pool="cluster-b", service=locator)
        check = client.api.CheckRelocate(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="app-disabled"), spec=spec))
    finally:
        client.close()
    assert not check.errors and check.vcenter == "vc-b"


@pytest.mark.parametrize("change,message", [
    (lambda loc: loc.credential.__setattr__("username", ""), "ServiceLocator.credential.username is required"),
    (lambda loc: loc.__setattr__("url", ""), "ServiceLocator.url is required with a credential: the target's AboutInfo.login_url"),
])
def test_a_credential_locator_missing_a_field(estate, change, message):
    locator = corp_locator(estate)
    change(locator)
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, InvalidArgument) and fault.message == message


def test_a_credential_locator_whose_url_answers_nothing(estate):
    locator = corp_locator(estate)
    locator.url = "127.0.0.1:9"   # discard: nothing listens
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, NotFound) and fault.message == "no vCenter answers at 127.0.0.1:9"


def test_a_credential_for_an_unlinked_vcenter_of_the_own_domain_is_refused(estate):
    """A vCenter of vsphere.local that vc-a is not linked with cannot be reached by password: NotFound."""
    vc_b = estate.vcenters["vc-b"].vcenter
    locator = vcenter_pb2.ServiceLocator(instance_uuid="22222222-2222-2222-2222-222222222222", url=vc_b.url,
                                         ssl_thumbprint=vc_b.thumbprint,
                                         credential=vcenter_pb2.ServiceLocatorNamePassword(username="a", password="b"))
    fault = task_fault(to_corp(estate, "app-required", locator))
    assert isinstance(fault, NotFound)
    assert fault.message == (f"vc-b at {vc_b.url} is of vsphere.local but not linked with vc-a: a credential is for a "
                             "vCenter of another SSO domain")


def test_login_without_a_user_name(channel):
    code, fault = call_fault(session_pb2_grpc.SessionManagerStub(channel).Login, session_pb2.LoginRequest(password="x"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "Login needs user_name and password"

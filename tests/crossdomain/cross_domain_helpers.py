"""Clients of a vCenter's login address (server-only TLS, a password instead of a certificate), and
relocates from vc-a (vsphere.local) to vc-corp (corp.local) in the default topology (row X7)."""

from __future__ import annotations

import grpc
from estate_helpers import client_of, wait_task

from linkedmode.crypto.identity import Identity
from linkedmode.estate import Estate
from linkedmode.v1 import common_pb2, session_pb2, session_pb2_grpc, vcenter_pb2, vcenter_pb2_grpc

DEMO_PASSWORD = "VMware1!"    # the documented password of corp.local's users in the default topology
SESSION_HEADER = "vmware-api-session-id"


def login_channel(estate: Estate, vcenter: str) -> grpc.Channel:
    """A channel to the login address of `vcenter`, trusting its domain's CA and presenting no certificate."""
    server = estate.vcenters[vcenter]
    domain = server.domain.name
    trust = (estate.pki_dir / domain / "ca.pem").read_bytes()
    options = [("grpc.ssl_target_name_override", Identity(domain, "vcenter", vcenter).dns_name)]
    return grpc.secure_channel(server.vcenter.login_url, grpc.ssl_channel_credentials(root_certificates=trust), options=options)


def login(channel: grpc.Channel, user: str, password: str) -> session_pb2.UserSession:
    return session_pb2_grpc.SessionManagerStub(channel).Login(session_pb2.LoginRequest(user_name=user, password=password),
                                                             timeout=10)


def logged_in(estate: Estate, vcenter: str, user: str, password: str, call):  # type: ignore[no-untyped-def]
    """`call(VCenterStub, metadata)` on `vcenter`'s login address as `user`, then logs out."""
    with login_channel(estate, vcenter) as channel:
        metadata = ((SESSION_HEADER, login(channel, user, password).session_id),)
        try:
            return call(vcenter_pb2_grpc.VCenterStub(channel), metadata)
        finally:
            session_pb2_grpc.SessionManagerStub(channel).Logout(session_pb2.LogoutRequest(), timeout=10, metadata=metadata)


def about_by_password(estate: Estate, vcenter: str, user: str = "administrator",
                      password: str = DEMO_PASSWORD) -> vcenter_pb2.AboutInfo:
    return logged_in(estate, vcenter, user, password,
                     lambda api, md: api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10, metadata=md))


def corp_locator(estate: Estate, user: str = "administrator", password: str = DEMO_PASSWORD,
                 reader: tuple[str, str] = ("auditor", DEMO_PASSWORD)) -> vcenter_pb2.ServiceLocator:
    """What vc-corp's owner tells you (read by `reader`, user and password): its login URL, instance UUID
    and thumbprint; with the credential of `user`."""
    about = about_by_password(estate, "vc-corp", *reader)
    return vcenter_pb2.ServiceLocator(
        instance_uuid=about.instance_uuid, url=about.login_url, ssl_thumbprint=about.thumbprint,
        credential=vcenter_pb2.ServiceLocatorNamePassword(username=user, password=password))


def to_corp(estate: Estate, vm: str, locator: vcenter_pb2.ServiceLocator) -> common_pb2.Task:
    client = client_of(estate, "vc-a")
    try:
        spec = vcenter_pb2.RelocateSpec(host="esx-c1", datastore="ds-corp-shared", pool="cluster-corp", service=locator)
        task = client.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec))
        return wait_task(client, task)
    finally:
        client.close()


def corp_vm_names(estate: Estate, reader: tuple[str, str] = ("auditor", DEMO_PASSWORD)) -> set[str]:
    vms = logged_in(estate, "vc-corp", *reader,
                    lambda api, md: api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=10, metadata=md).vms)
    return {vm.name for vm in vms}


def corp_events(estate: Estate, reader: tuple[str, str] = ("auditor", DEMO_PASSWORD)) -> list[common_pb2.Event]:
    return list(logged_in(estate, "vc-corp", *reader,
                          lambda api, md: api.QueryEvents(vcenter_pb2.EventFilter(), timeout=10, metadata=md).events))

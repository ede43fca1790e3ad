"""Lanes of a listener: users' calls fill only users' threads; an admin's and a peer's calls still run.

A servicer whose GetAbout holds its thread until released stands behind the real listener (rpc.server),
with its real interceptor, policy and mutual TLS, so a blocked user lane is certain, not a race.
"""

from __future__ import annotations

import asyncio
import threading
import time

import grpc
import pytest
from estate_helpers import call_fault

from linkedmode.crypto.domain_pki import Pki, ensure_pki
from linkedmode.crypto.identity import Identity
from linkedmode.model.faults import NotFound, UnableToAllocateResource
from linkedmode.rpc.auth import current_principal, on_event_loop
from linkedmode.rpc.faults import fault_from_error
from linkedmode.rpc.policies import LINKED_MODE, VCENTER, vcenter_policy
from linkedmode.rpc.server import RunningServer, serve, server_options
from linkedmode.rpc.tls import secure_channel
from linkedmode.topology import parse_topology
from linkedmode.topology.spec import ListenerLimits
from linkedmode.v1 import common_pb2, inventory_pb2, linked_mode_pb2, linked_mode_pb2_grpc, vcenter_pb2, vcenter_pb2_grpc

TOPOLOGY = {
    "sso_domains": [{
        "name": "vsphere.local",
        "users": [{"name": "administrator", "role": "admin"}, {"name": "auditor", "role": "read-only"},
                  {"name": "operator", "role": "read-only"}],
        "vcenters": [{"name": "vc-a", "version": "7.0.3"}, {"name": "vc-b", "version": "7.0.3"}],
    }],
}
ROLES = {"administrator": "admin", "auditor": "read-only", "operator": "read-only"}
USER_WORKERS = 2


class HeldVCenter(vcenter_pb2_grpc.VCenterServicer):
    """GetAbout of a read-only user holds a thread until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.holding = 0
        self._lock = threading.Lock()

    def GetAbout(self, request, context):
        if current_principal().name != "administrator":
            with self._lock:
                self.holding += 1
            self.release.wait(30)
        return vcenter_pb2.AboutInfo(name="vc-a")

    @on_event_loop
    def GetVm(self, request, context):
        """Answers with the thread it ran in, who called and whose event loop; a VM named "missing" is not there."""
        if request.name == "missing":
            raise NotFound("vc-a has no VirtualMachine named 'missing'", object="missing")
        return inventory_pb2.VirtualMachine(name=threading.current_thread().name, host=current_principal().name,
                                            datacenter=type(asyncio.get_running_loop()).__module__)

    def GetDatacenter(self, request, context):
        return inventory_pb2.Datacenter(name=threading.current_thread().name)


class Peer(linked_mode_pb2_grpc.LinkedModeServicer):
    def Hello(self, request, context):
        return linked_mode_pb2.PeerInfo(name="vc-a")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    root = tmp_path_factory.mktemp("lanes") / "pki"
    ensure_pki(root, parse_topology(TOPOLOGY, "lanes"))
    return Pki(root)


@pytest.fixture
def held(pki):
    servicer = HeldVCenter()
    server: RunningServer = serve(
        "127.0.0.1:0", pki.credential(Identity("vsphere.local", "vcenter", "vc-a")),
        vcenter_policy("vsphere.local", "vc-a", ROLES),
        [(vcenter_pb2_grpc.add_VCenterServicer_to_server, servicer, VCENTER),
         (linked_mode_pb2_grpc.add_LinkedModeServicer_to_server, Peer(), LINKED_MODE)],
        limits=ListenerLimits(calls_per_principal=USER_WORKERS, user_workers=USER_WORKERS, admin_workers=1, peer_workers=1),
    )
    yield server, servicer
    servicer.release.set()
    server.stop(0)


def channel_as(pki: Pki, server: RunningServer, kind: str, name: str) -> grpc.Channel:
    me = pki.credential(Identity("vsphere.local", kind, name))
    return secure_channel(server.address, me, Identity("vsphere.local", "vcenter", "vc-a"))


def wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_users_filling_their_threads_leave_the_admin_and_peer_threads_free(pki, held):
    server, servicer = held
    auditor, operator = (channel_as(pki, server, "user", u) for u in ("auditor", "operator"))
    admin, peer = channel_as(pki, server, "user", "administrator"), channel_as(pki, server, "vcenter", "vc-b")
    try:
        blocked = [vcenter_pb2_grpc.VCenterStub(c).GetAbout.future(vcenter_pb2.GetAboutRequest(), timeout=60)
                   for c in (auditor, operator)]
        wait_until(lambda: servicer.holding == USER_WORKERS)   # every user thread is held
        queued = vcenter_pb2_grpc.VCenterStub(operator).GetAbout.future(vcenter_pb2.GetAboutRequest(), timeout=60)

        started = time.monotonic()
        assert vcenter_pb2_grpc.VCenterStub(admin).GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
        assert linked_mode_pb2_grpc.LinkedModeStub(peer).Hello(linked_mode_pb2.PeerInfo(name="vc-b"), timeout=10).name == "vc-a"
        assert time.monotonic() - started < 10
        assert not queued.done()   # the third user call waits for a user thread, it does not take another lane's

        servicer.release.set()
        assert all(f.result(timeout=30).name == "vc-a" for f in [*blocked, queued])
    finally:
        for channel in (auditor, operator, admin, peer):
            channel.close()


def test_a_read_marked_for_the_event_loop_runs_there_even_when_every_user_thread_is_held(pki, held):
    server, servicer = held
    auditor, operator = (channel_as(pki, server, "user", u) for u in ("auditor", "operator"))
    try:
        plain = vcenter_pb2_grpc.VCenterStub(operator).GetDatacenter(common_pb2.ObjectRef(name="dc"), timeout=10).name
        assert plain.startswith("vc-a-user")                  # an unmarked method runs in its lane's threads
        blocked = [vcenter_pb2_grpc.VCenterStub(c).GetAbout.future(vcenter_pb2.GetAboutRequest(), timeout=60)
                   for c in (auditor, operator)]
        wait_until(lambda: servicer.holding == USER_WORKERS)

        vm = vcenter_pb2_grpc.VCenterStub(auditor).GetVm(common_pb2.ObjectRef(name="web-01"), timeout=10)
        assert vm.name.endswith("-loop") and vm.host == "auditor"   # on the loop, as its caller
        assert vm.datacenter.startswith("uvloop")                   # the listeners' loop is uvloop's
        code, fault = call_fault(vcenter_pb2_grpc.VCenterStub(operator).GetVm, common_pb2.ObjectRef(name="missing"), timeout=10)
        assert code == grpc.StatusCode.NOT_FOUND and isinstance(fault, NotFound)
        assert fault.message == "vc-a has no VirtualMachine named 'missing'"
        # its ticket is still taken and given back: the auditor holds one call, so one more is admitted
        assert vcenter_pb2_grpc.VCenterStub(auditor).GetVm(common_pb2.ObjectRef(name="web-01"), timeout=10).host == "auditor"

        servicer.release.set()
        assert all(f.result(timeout=30).name == "vc-a" for f in blocked)
    finally:
        auditor.close()
        operator.close()


def test_a_user_over_its_calls_at_once_is_refused_with_the_fault_and_served_again_after(pki, held):
    server, servicer = held
    auditor = channel_as(pki, server, "user", "auditor")
    stub = vcenter_pb2_grpc.VCenterStub(auditor)
    try:
        blocked = [stub.GetAbout.future(vcenter_pb2.GetAboutRequest(), timeout=60) for _ in range(USER_WORKERS)]
        wait_until(lambda: servicer.holding == USER_WORKERS)
        code, fault = call_fault(stub.GetAbout, vcenter_pb2.GetAboutRequest(), timeout=10)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert isinstance(fault, UnableToAllocateResource)
        assert fault.message == ("user auditor@vsphere.local has 2 calls in progress on vc-a; at most 2 are "
                                 "allowed at once: try again when one ends")
        assert fault.arguments["limit"] == "calls_per_principal"

        servicer.release.set()
        assert all(f.result(timeout=30).name == "vc-a" for f in blocked)
        assert stub.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"   # its calls were given back
    finally:
        auditor.close()


def test_a_flood_of_calls_by_one_user_is_refused_beyond_its_limit_and_costs_no_thread(pki, held):
    server, servicer = held
    auditor, admin = channel_as(pki, server, "user", "auditor"), channel_as(pki, server, "user", "administrator")
    stub = vcenter_pb2_grpc.VCenterStub(auditor)
    flood = 200
    try:
        threads = threading.active_count()
        calls = [stub.GetAbout.future(vcenter_pb2.GetAboutRequest(), timeout=60) for _ in range(flood)]
        wait_until(lambda: servicer.holding == USER_WORKERS and sum(c.done() for c in calls) == flood - USER_WORKERS)
        refused = [c.exception() for c in calls if c.done()]
        held_calls = [c for c in calls if not c.done()]
        assert all(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for e in refused)
        assert {type(fault_from_error(e)) for e in refused} == {UnableToAllocateResource}
        assert threading.active_count() - threads < 5   # refused calls never reached a thread
        assert vcenter_pb2_grpc.VCenterStub(admin).GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
        servicer.release.set()
        assert [c.result(timeout=30).name for c in held_calls] == ["vc-a"] * USER_WORKERS
    finally:
        auditor.close()
        admin.close()


def test_the_address_of_a_listener_is_where_it_listens(pki, held):
    server, _ = held
    host, port = server.address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0


def test_a_listener_that_cannot_bind_says_so(pki, held):
    server, _ = held
    with pytest.raises((OSError, RuntimeError)):
        serve(server.address, pki.credential(Identity("vsphere.local", "vcenter", "vc-a")),
              vcenter_policy("vsphere.local", "vc-a", ROLES), [])


def test_the_listener_options_carry_the_limits():
    options = dict(server_options(ListenerLimits(max_message_bytes=2048, keepalive_seconds=20, idle_seconds=30)))
    assert options["grpc.max_receive_message_length"] == 2048
    assert options["grpc.keepalive_time_ms"] == 20_000 and options["grpc.max_connection_idle_ms"] == 30_000
    assert options["grpc.http2.min_recv_ping_interval_without_data_ms"] <= 30_000   # clients ping every 30 s

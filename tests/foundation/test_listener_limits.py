"""A read-only user cannot stop a vCenter: streams and calls are limited per principal, streams hold no
thread, and requests, connections and pings are bounded. Every part runs on loopback, on port 0."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import yaml
from estate_helpers import call_fault, client_of, rss_bytes, vm_ref, wait_task

from linkedmode.client import connect_host
from linkedmode.estate import start_estate
from linkedmode.model.faults import UnableToAllocateResource
from linkedmode.rpc.faults import fault_from_error
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, host_agent_pb2, host_agent_pb2_grpc, vcenter_pb2, vcenter_pb2_grpc

# vc-b keeps the default limits (16 streams per principal, as many as the old listener's threads).
TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    users:
      - {name: administrator, role: admin}
      - {name: auditor, role: read-only}
      - {name: operator, role: read-only}
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: a1, version: 7.0.3}]}]
            datastores: [{name: ds-a}]
            networks: [{name: VM Network}]
            vms:
              - {name: mover, host: a1, memory_mb: 16, nics: [{network: VM Network}]}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b1, version: 7.0.3}]}]
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
            vms:
              - {name: resident, host: b1, memory_mb: 16, nics: [{network: VM Network}]}
"""
STREAMS_PER_PRINCIPAL = 16


def topology(vc_b_limits: str = "", vc_a_limits: str = "", a1_limits: str = ""):
    text = TOPOLOGY
    if a1_limits:
        text = text.replace("{name: a1, version: 7.0.3}", f"{{name: a1, version: 7.0.3, limits: {a1_limits}}}")
    if vc_a_limits:
        text = text.replace("      - name: vc-a\n        version: 7.0.3\n",
                            f"      - name: vc-a\n        version: 7.0.3\n        limits: {vc_a_limits}\n")
    if vc_b_limits:
        text = text.replace("      - name: vc-b\n        version: 7.0.3\n",
                            f"      - name: vc-b\n        version: 7.0.3\n        limits: {vc_b_limits}\n")
    return parse_topology(yaml.safe_load(text), "limits-test")


def open_watch(client) -> grpc.Call:
    """A WatchEvents stream from the start, its first event read: the server has admitted it."""
    stream = client.api.WatchEvents(vcenter_pb2.EventFilter(), timeout=120)
    next(stream)
    return stream


def refusal_of(stream_call) -> tuple[grpc.StatusCode, object]:
    with pytest.raises(grpc.RpcError) as failure:
        next(stream_call)
    return failure.value.code(), fault_from_error(failure.value)


def test_an_auditor_holding_every_stream_it_may_stops_no_one():
    with start_estate(topology()) as estate:
        auditor, operator = client_of(estate, "vc-b", "auditor"), client_of(estate, "vc-b", "operator")
        admin_a, admin_b = client_of(estate, "vc-a", "administrator"), client_of(estate, "vc-b", "administrator")
        hoard = [open_watch(auditor) for _ in range(STREAMS_PER_PRINCIPAL)]
        try:
            for _ in range(4):   # beyond its limit: refused at once, with the Fault
                code, fault = refusal_of(auditor.api.WatchEvents(vcenter_pb2.EventFilter(), timeout=10))
                assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert isinstance(fault, UnableToAllocateResource)
                assert fault.message == ("user auditor@vsphere.local has 16 streams open on vc-b; at most 16 are allowed: "
                                         "close one, or try again later")
                assert fault.object == "user auditor@vsphere.local" and fault.arguments["limit"] == "streams_per_principal"

            # everyone else is served: another read-only user, an admin, and the auditor's own calls
            assert {vm.name for vm in operator.api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=5).vms} == {"resident"}
            next(operator.api.WatchEvents(vcenter_pb2.EventFilter(), timeout=5))
            assert admin_b.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=5).name == "vc-b"
            assert auditor.api.GetVm(vm_ref("resident"), timeout=5).name == "resident"

            # and a migration into vc-b goes through it: LinkedMode calls from vc-a, host calls from vc-b
            about = admin_b.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=5)
            locator = vcenter_pb2.ServiceLocator(instance_uuid=about.instance_uuid, url=about.url, ssl_thumbprint=about.thumbprint)
            spec = vcenter_pb2.RelocateSpec(host="b1", datastore="ds-b", pool="cluster-b", service=locator)
            task = wait_task(admin_a, admin_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=vm_ref("mover"), spec=spec), timeout=10))
            assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
            assert admin_b.api.GetVm(vm_ref("mover"), timeout=5).name == "mover"

            # the hoarded streams still see what happens (the migration's events)
            assert any(event.vm_name == "mover" for event in _until_mover(hoard[0]))
        finally:
            for stream in hoard:
                stream.cancel()
        # given back once closed: the auditor may open as many again
        deadline = time.monotonic() + 20
        while True:
            try:
                again = [open_watch(auditor) for _ in range(STREAMS_PER_PRINCIPAL)]
                break
            except grpc.RpcError as error:   # the server may not have seen every cancel yet
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
                time.sleep(0.2)
        for stream in again:
            stream.cancel()
        for client in (auditor, operator, admin_a, admin_b):
            client.close()


def _until_mover(stream, limit: int = 200):
    for count, event in enumerate(stream):
        yield event
        if event.vm_name == "mover" or count >= limit:
            return


def test_hundreds_of_open_streams_hold_no_thread_each():
    streams = 300
    limits = f"{{streams_per_principal: {streams}, user_streams: {streams}}}"
    with start_estate(topology(vc_b_limits=limits)) as estate:
        auditor, operator = client_of(estate, "vc-b", "auditor"), client_of(estate, "vc-b", "operator")
        admin = client_of(estate, "vc-b", "administrator")
        next(auditor.api.WatchEvents(vcenter_pb2.EventFilter(), timeout=10))   # every lazy thread started
        before, rss = threading.active_count(), rss_bytes()
        opened = [open_watch(auditor) for _ in range(streams)]
        try:
            grown = threading.active_count() - before
            assert grown < 10, f"{streams} open streams took {grown} threads"
            cost = rss_bytes() - rss      # both ends of each stream live in this process (~50 KiB together)
            assert cost < 64 << 20, f"{streams} open streams grew the process by {cost >> 20} MiB"
            started = time.monotonic()
            assert operator.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-b"
            assert time.monotonic() - started < 5
            # the user streams together are at their limit too: the operator's stream is refused
            code, fault = refusal_of(operator.api.WatchEvents(vcenter_pb2.EventFilter(), timeout=10))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and fault.arguments["limit"] == "user_streams"
            assert fault.message == "vc-b has 300 streams of users open, its limit: try again later"
            # an admin's stream is not a user's: users at their limit do not keep an admin from watching
            watching = open_watch(admin)
            watching.cancel()
        finally:
            for stream in opened:
                stream.cancel()
            for client in (auditor, operator, admin):
                client.close()


def test_a_call_flood_by_one_user_is_bounded_and_leaves_others_served():
    """Every call of the flood ends at once, served or refused with the Fault, and others are served
    meanwhile. (How many are refused depends on how the calls overlap; test_listener_lanes holds calls
    open to count refusals exactly.)"""
    flood = 200
    with start_estate(topology(vc_b_limits="{calls_per_principal: 2, user_workers: 1}")) as estate:
        auditor, operator = client_of(estate, "vc-b", "auditor"), client_of(estate, "vc-b", "operator")
        admin = client_of(estate, "vc-b", "administrator")
        started = time.monotonic()
        calls = [auditor.api.GetVm.future(vm_ref("resident"), timeout=30) for _ in range(flood)]
        with ThreadPoolExecutor(2) as others:
            admin_answer = others.submit(admin.api.GetAbout, vcenter_pb2.GetAboutRequest(), timeout=10)
            operator_answer = others.submit(operator.api.GetVm, vm_ref("resident"), timeout=10)
            assert admin_answer.result().name == "vc-b" and operator_answer.result().name == "resident"
        served = refused = 0
        for call in calls:
            try:
                assert call.result().name == "resident"
                served += 1
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                assert isinstance(fault_from_error(error), UnableToAllocateResource)
                refused += 1
        assert served + refused == flood and served >= 1
        assert time.monotonic() - started < 30
        for client in (auditor, operator, admin):
            client.close()


def test_a_request_over_the_size_limit_is_refused_before_it_is_read():
    with start_estate(topology(vc_a_limits="{max_message_bytes: 2048}")) as estate:
        admin = client_of(estate, "vc-a", "administrator")
        code, _ = call_fault(admin.api.ListVms, vcenter_pb2.ListVmsRequest(datacenter="x" * 4000), timeout=10)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(grpc.RpcError) as failure:
            admin.api.ListVms(vcenter_pb2.ListVmsRequest(datacenter="x" * 4000), timeout=10)
        assert "larger than max" in failure.value.details()
        # under the limit, the same request reaches the service (and its own checks)
        code, fault = call_fault(admin.api.ListVms, vcenter_pb2.ListVmsRequest(datacenter="x" * 1000), timeout=10)
        assert code == grpc.StatusCode.NOT_FOUND and fault.name == "NotFound"
        assert [vm.name for vm in admin.api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=10).vms] == ["mover"]
        admin.close()


def test_an_idle_connection_is_closed_after_the_idle_limit():
    with start_estate(topology(vc_a_limits="{idle_seconds: 1}")) as estate:
        admin = client_of(estate, "vc-a", "administrator")
        states: list[grpc.ChannelConnectivity] = []
        admin.channel.subscribe(states.append, try_to_connect=False)
        assert admin.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
        ready, idle = grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.IDLE
        deadline = time.monotonic() + 20
        while not (ready in states and idle in states[states.index(ready):]):   # states arrive from grpc's thread
            assert time.monotonic() < deadline, f"the connection stayed open: {states}"
            time.sleep(0.1)
        assert admin.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"   # a client just reconnects
        admin.close()


def test_a_client_that_pings_too_often_is_cut_off_and_its_stream_given_back():
    """The listener takes a ping without data at most every 10 s and twice too early at most: a client
    pinging every 100 ms gets GOAWAY (too_many_pings), and what it held is given back."""
    with start_estate(topology(vc_a_limits="{streams_per_principal: 1}")) as estate:
        server = estate.vcenters["vc-a"]
        auditor = estate.credential("vsphere.local", "user", "auditor")
        tls = grpc.ssl_channel_credentials(root_certificates=auditor.ca_pem, private_key=auditor.key_pem,
                                           certificate_chain=auditor.cert_pem)
        pinging = grpc.secure_channel(server.address, tls, options=[
            ("grpc.ssl_target_name_override", "vc-a.vcenter.vsphere.local"), ("grpc.keepalive_time_ms", 100),
            ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0)])
        polite = client_of(estate, "vc-a", "operator")
        try:
            kept = open_watch(polite)
            stream = vcenter_pb2_grpc.VCenterStub(pinging).WatchEvents(vcenter_pb2.EventFilter(), timeout=60)
            next(stream)
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as cut:
                for _ in stream:
                    pass
            assert cut.value.code() == grpc.StatusCode.UNAVAILABLE and "Too many pings" in cut.value.details()
            assert time.monotonic() - started < 30
            # its stream was given back: the auditor (1 stream at most) may open one again
            again = client_of(estate, "vc-a", "auditor")
            deadline = time.monotonic() + 10
            while True:
                try:
                    open_watch(again).cancel()
                    break
                except grpc.RpcError as error:   # the server may not have seen the connection go yet
                    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
                    time.sleep(0.2)
            again.close()
            # a client that keeps to the rules keeps its stream
            assert polite.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=5).name == "vc-a"
            assert not kept.done()
            kept.cancel()
        finally:
            pinging.close()
            polite.close()


def test_connections_that_never_finish_their_tls_handshake_are_closed_at_the_handshake_limit():
    """A flood of half-open TLS connections (a record header, then nothing) costs little and is
    dropped after `handshake_seconds`, not gRPC's 120 s; calls are served meanwhile."""
    with start_estate(topology(vc_a_limits="{handshake_seconds: 1}")) as estate:
        admin = client_of(estate, "vc-a", "administrator")
        host, port = estate.vcenters["vc-a"].address.rsplit(":", 1)
        before = rss_bytes()
        stalled = []
        for _ in range(200):
            connection = socket.create_connection((host, int(port)), timeout=5)
            connection.sendall(b"\x16\x03\x01")      # the start of a TLS record, and no more
            stalled.append(connection)
        try:
            assert admin.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
            assert rss_bytes() - before < 64 << 20          # 200 of them: not 140 MiB per thousand
            deadline = time.monotonic() + 15
            open_ones = list(stalled)
            while open_ones:
                assert time.monotonic() < deadline, f"{len(open_ones)} half-open connections still open"
                readable, _, _ = select.select(open_ones, [], [], 0.5)
                for connection in readable:
                    with contextlib.suppress(OSError):
                        if connection.recv(1024):
                            continue                   # an alert before the close
                    open_ones.remove(connection)
            assert admin.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=10).name == "vc-a"
        finally:
            for connection in stalled:
                connection.close()
            admin.close()


def test_a_host_takes_its_limits_from_the_topology_too():
    with start_estate(topology(a1_limits="{max_message_bytes: 2048}")) as estate:
        credential = estate.credential("vsphere.local", "vcenter", "vc-a")
        stub = host_agent_pb2_grpc.HostAgentStub(connect_host(estate.hosts["a1"].address, credential, "a1"))
        assert [vm.name for vm in stub.ListVms(host_agent_pb2.ListHostVmsRequest(), timeout=10).vms] == ["mover"]
        with pytest.raises(grpc.RpcError) as failure:
            stub.WriteGuestMemory(host_agent_pb2.WriteGuestMemoryRequest(instance_uuid="x", marker=b"m" * 4096), timeout=10)
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in failure.value.details()

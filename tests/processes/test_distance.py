"""Distance on the vMotion link (row V6): a link's RTT and rate, applied by the emulator on the page
stream, slow a migration as the figures say, and a 150 ms RTT migration still converges."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import yaml
from estate_helpers import client_of, wait_task

from linkedmode.estate import start_estate
from linkedmode.topology import TopologyError, parse_topology
from linkedmode.v1 import common_pb2, emulator_pb2, vcenter_pb2
from linkedmode.vmotion.convergence import PrecopyPolicy, RoundStats, Step
from linkedmode.vmotion.link import ShapedLink

RATE_MBIT = 400      # 50 MB/s

TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: a1, version: 7.0.3, vmotion: {link: {rtt_ms: RTT, rate_mbit: RATE}}}]}]
            datastores: [{name: ds-a}]
            vms:
              - {name: far, host: a1, memory_mb: 32, migrate_encryption: required, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b1, version: 7.0.3, vmotion: {link: {rtt_ms: RTT, rate_mbit: RATE}}}]}]
            datastores: [{name: ds-b}]
"""


def topology(rtt_ms: float, rate_mbit: float = RATE_MBIT):
    text = TOPOLOGY.replace("RTT", f"{rtt_ms:g}").replace("RATE", f"{rate_mbit:g}")
    return parse_topology(yaml.safe_load(text), "distance")


def move_far(rtt_ms: float) -> tuple[common_pb2.Task, float]:
    """Moves `far` from vc-a to vc-b across links of `rtt_ms`; the task at its end and its wall time."""
    with start_estate(topology(rtt_ms)) as estate:
        vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
        try:
            about = vc_b.api.GetAbout(vcenter_pb2.GetAboutRequest())
            locator = vcenter_pb2.ServiceLocator(instance_uuid=about.instance_uuid, url=about.url, ssl_thumbprint=about.thumbprint)
            spec = vcenter_pb2.RelocateSpec(host="b1", datastore="ds-b", pool="cluster-b", service=locator)
            vc_a.emulator.WriteGuestMemory(emulator_pb2.GuestMemoryWriteRequest(vm=common_pb2.ObjectRef(name="far"), random_fraction=1.0))
            started = time.monotonic()
            task = wait_task(vc_a, vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="far"), spec=spec)))
            return task, time.monotonic() - started
        finally:
            vc_a.close()
            vc_b.close()


def test_a_150_ms_rtt_migration_converges_and_takes_the_time_its_figures_say():
    task, wall_s = move_far(150)
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error.message
    figures = task.migration.stream
    assert task.migration.encrypted and task.migration.vcenter == "vc-b"
    assert figures.rounds >= 1 and figures.bytes_sent >= 32 << 20
    # every round waits for the destination's ACK, a round trip; the switchover waits for two
    # (the checkpoint's ACK, then END's)
    assert figures.downtime_ms >= 2 * 150 * 0.9
    assert figures.duration_ms >= 150 * 0.9 * (figures.rounds + 2)
    # the link carries no more than its rate, and the pages took at least what the rate allows
    assert figures.mbps <= RATE_MBIT / 8 * 1.1
    assert figures.duration_ms >= figures.bytes_sent / (RATE_MBIT * 125_000) * 1000 * 0.9
    # the task took what the figures say, plus the calls around the stream (loosely: the machine is shared)
    assert figures.duration_ms / 1000 <= wall_s <= figures.duration_ms / 1000 + 15


def test_a_link_over_150_ms_or_a_negative_rate_is_refused():
    with pytest.raises(TopologyError, match=r"rtt_ms: 151 ms is more than 150 ms, the longest RTT vMotion supports"):
        topology(151)
    with pytest.raises(TopologyError, match=r"link\.rate_mbit: expected a number >= 0, got -1"):
        topology(10, -1)


@pytest.fixture
def echo_server():
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with server:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    while data := conn.recv(1 << 16):
                        conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[:2]
    server.close()


def test_a_shaped_link_holds_each_answer_a_round_trip_and_paces_the_bytes(echo_server):
    link = ShapedLink(echo_server, rtt_s=0.1, rate=10e6)
    try:
        with socket.create_connection(link.address) as conn:
            started = time.monotonic()
            conn.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            assert time.monotonic() - started >= 0.1 * 0.95
            payload = b"x" * (2 << 20)
            started = time.monotonic()
            threading.Thread(target=conn.sendall, args=(payload,), daemon=True).start()
            received = 0
            while received < len(payload):
                received += len(conn.recv(1 << 20))
            # 2 MiB out and back at 10 MB/s each way, pipelined: at least one pass plus the RTT
            assert time.monotonic() - started >= len(payload) / 10e6 * 0.9 + 0.1 * 0.9
    finally:
        link.close()


def test_a_shaped_link_to_nowhere_closes_the_connection(echo_server):
    unused = socket.create_server(("127.0.0.1", 0))
    address = unused.getsockname()[:2]
    unused.close()
    link = ShapedLink(address, rtt_s=0.01, rate=0)
    try:
        with socket.create_connection(link.address) as conn:
            conn.settimeout(5)
            assert conn.recv(1) == b""
    finally:
        link.close()


def test_the_switchover_goal_leaves_room_for_the_two_round_trips_of_the_switchover():
    """At 150 ms RTT a 0.5 s goal leaves 0.2 s for the last pages: a set that fits 0.5 s on a near link
    needs more rounds on a far one, and one that fits 0.2 s switches over."""
    policy = PrecopyPolicy(switchover_goal_s=0.5)
    bandwidth = 100e6
    fits_half_second = int(0.45 * bandwidth / 4096)
    fits_fifth = int(0.19 * bandwidth / 4096)
    assert policy.decide(RoundStats(3, fits_half_second, fits_half_second, bandwidth, 0.0)).step is Step.SWITCHOVER
    assert policy.decide(RoundStats(3, fits_half_second, fits_half_second, bandwidth, 0.0, 0.15)).step is Step.PRECOPY
    assert policy.decide(RoundStats(3, fits_fifth, fits_fifth, bandwidth, 0.0, 0.15)).step is Step.SWITCHOVER
    # round trips longer than the goal leave nothing for pages: only a tiny set switches over
    assert policy.decide(RoundStats(3, 1_000, 1_000, bandwidth, 0.0, 0.3)).step is Step.PRECOPY
    assert policy.decide(RoundStats(3, 1_000, 60, bandwidth, 0.0, 0.3)).step is Step.SWITCHOVER

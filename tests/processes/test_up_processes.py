"""`up --processes`: every vCenter and every host in an OS process of its own, supervised; a vCenter
killed in the middle of a move and started again settles it, and the VM exists once."""

from __future__ import annotations

import os
import signal
import time

import grpc
import pytest
from estate_helpers import fault_rule
from process_estate_helpers import TOPOLOGY, client, journal_rows, relocate_to_vc_b, settled_where

from linkedmode import supervisor
from linkedmode.process_estate import start_process_estate
from linkedmode.supervisor import PartDidNotStart, PartProcess
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2


@pytest.fixture
def estate(tmp_path):
    reports: list[str] = []
    with start_process_estate(TOPOLOGY, tmp_path / "state", restart=True, report=reports.append) as running:
        running.reports = reports   # type: ignore[attr-defined]
        yield running


def test_every_part_is_a_process_of_its_own_and_the_vcenters_are_linked(estate):
    pids = {part: estate.supervisor.part(part).pid for part in ("vcenter:vc-a", "vcenter:vc-b", "host:a1", "host:b1")}
    assert len(set(pids.values()) | {os.getpid()}) == 5
    assert {part: estate.info(*part.split(":"))["pid"] for part in pids} == pids   # each says so itself
    vc_a = client(estate, "vc-a")
    try:
        linked = vc_a.api.ListLinkedVCenters(vcenter_pb2.ListLinkedVCentersRequest()).vcenters
        assert [v.name for v in linked] == ["vc-b"]
        hosts = vc_a.api.ListHosts(inventory_pb2.ListRequest()).hosts
        assert [(h.name, h.connection_state) for h in hosts] == [("a1", inventory_pb2.HOST_CONNECTION_STATE_CONNECTED)]
    finally:
        vc_a.close()
    endpoints = (estate.state_dir / "endpoints.json").read_text()
    assert estate.info("vcenter", "vc-a")["address"] in endpoints


def test_every_port_zero_was_given_a_port_before_the_parts_started(estate):
    placed = estate.topology
    for _, vc in placed.vcenters():
        assert not vc.address.endswith(":0")
        for host in vc.hosts():
            assert not host.address.endswith(":0") and not host.vmotion.address.endswith(":0")
    assert estate.info("host", "a1")["vmotion_address"] == placed.vcenters()[0][1].hosts()[0].vmotion.address


def test_a_vcenter_killed_by_signal_is_reported_and_restarted_on_its_address(estate):
    part = estate.supervisor.part("vcenter:vc-b")
    address = part.address
    os.kill(part.pid, signal.SIGKILL)
    again = estate.supervisor.wait_restarted("vcenter:vc-b", part.pid)
    assert again.address == address and again.pid != part.pid
    assert f"vcenter:vc-b (pid {part.pid}) died with signal 9; restarting it" in estate.reports
    vc_a = client(estate, "vc-a")
    try:   # vc-b said hello again when it came back
        assert [v.name for v in vc_a.api.ListLinkedVCenters(vcenter_pb2.ListLinkedVCentersRequest()).vcenters] == ["vc-b"]
    finally:
        vc_a.close()


def test_a_host_process_restarted_empty_gets_its_vms_again_from_its_vcenter(estate):
    part = estate.supervisor.part("host:a1")
    os.kill(part.pid, signal.SIGKILL)
    estate.supervisor.wait_restarted("host:a1", part.pid)
    vc_a = client(estate, "vc-a")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                memory = vc_a.emulator.GetGuestMemory(common_pb2.ObjectRef(name="mover"), timeout=10)
                if memory.power_state == common_pb2.POWER_STATE_POWERED_ON:
                    break
            except grpc.RpcError:
                pass    # not registered on the new process yet
            assert time.monotonic() < deadline, "vc-a never gave the restarted host its VM again"
            time.sleep(0.2)
    finally:
        vc_a.close()
    assert settled_where(estate, "mover") == "vc-a"


@pytest.mark.parametrize(("step", "settles_on"), [("commit", "vc-a"), ("source_cleanup", "vc-b")],
                         ids=["before-the-commit", "after-the-commit"])
def test_a_source_vcenter_process_killed_mid_move_and_restarted_settles_the_move(estate, step, settles_on):
    vc_a = client(estate, "vc-a")
    try:
        vc_a.emulator.AddFaultRule(fault_rule(step=step, action="kill", part="vc-a", count=1))
    finally:
        vc_a.close()
    old = estate.supervisor.part("vcenter:vc-a").pid
    relocate_to_vc_b(estate, "mover")
    estate.supervisor.wait_restarted("vcenter:vc-a", old)
    assert [e.returncode for e in estate.supervisor.exits] == [137]
    assert settled_where(estate, "mover") == settles_on
    assert journal_rows(estate.state_dir, "vc-a") == [] and journal_rows(estate.state_dir, "vc-b") == []


def test_a_source_vcenter_process_killed_by_signal_during_the_page_stream_leaves_the_vm_once(estate):
    vc_a = client(estate, "vc-a")
    try:   # the stream is held at its second round long enough to kill vc-a in the middle of it
        vc_a.emulator.AddFaultRule(fault_rule(step="precopy_round", action="delay", part="a1", delay_seconds=1.0, count=1))
    finally:
        vc_a.close()
    part = estate.supervisor.part("vcenter:vc-a")
    relocate_to_vc_b(estate, "mover")
    time.sleep(0.5)
    os.kill(part.pid, signal.SIGKILL)
    estate.supervisor.wait_restarted("vcenter:vc-a", part.pid)
    assert settled_where(estate, "mover") in ("vc-a", "vc-b")


def test_without_restart_a_dead_part_is_reported_and_stays_dead(tmp_path):
    reports: list[str] = []
    with start_process_estate(TOPOLOGY, tmp_path / "state", report=reports.append) as estate:
        part = estate.supervisor.part("host:b1")
        os.kill(part.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reports == [f"host:b1 (pid {part.pid}) died with signal 9; not restarted (up --processes --restart restarts parts)"]
        assert "host:b1" not in estate.supervisor.parts


def test_a_part_that_cannot_start_says_why(tmp_path):
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY)
    with pytest.raises(PartDidNotStart, match=r"host:nowhere did not start: .*the topology has no host 'nowhere'"):
        PartProcess("host:nowhere", topology, tmp_path).wait_ready()


def test_a_generated_topology_with_more_hosts_than_a_start_wave_runs_as_processes(tmp_path, monkeypatch):
    """`generate:` is written out before ports are placed (each vCenter must know where its hosts
    are), and parts start a wave at a time: 64 hosts at once on 2 cores ran past their start time."""
    monkeypatch.setattr(supervisor, "START_WAVE", 2)
    generated = "generate: {vcenters: 2, hosts_per_vcenter: 3, vms: 12, memory_mb: [256, 256]}\n"
    with start_process_estate(generated, tmp_path / "state") as running:
        assert len([p for p in running.supervisor.parts if p.startswith("host:")]) == 6
        for name in ("vc-01", "vc-02"):
            vcenter = client(running, name)
            try:
                assert len(vcenter.api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=30).vms) == 6
            finally:
                vcenter.close()

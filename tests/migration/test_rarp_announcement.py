"""Row V7: after switchover the destination host announces each of the VM's MACs with a RARP request
(Ethernet broadcast, ethertype 0x8035, opcode 3, the MAC as sender and target), once the VM runs there.
The source announces nothing; neither does a failed, cancelled or cold move, nor a power-on."""

from __future__ import annotations

import struct
import time

import grpc
import pytest
from estate_helpers import call_fault, client_of, fault_rule, task_fault, wait_task
from migration_estate import locator_of, migration_estate, relocate, to_vc_b

from linkedmode.model.faults import NotFound, RequestCanceled
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


def announced(client, host: str) -> list[inventory_pb2.NetworkAnnouncement]:
    return list(client.api.ListHostAnnouncements(common_pb2.ObjectRef(name=host)).announcements)


def macs_of(client, vm: str) -> list[str]:
    return [nic.mac_address for nic in client.api.GetVm(common_pb2.ObjectRef(name=vm)).nics]


def check_rarp(frame: bytes, mac: str) -> None:
    """The frame ESXi sends: broadcast from the MAC, RARP request reverse with the MAC as sender and target."""
    own = bytes.fromhex(mac.replace(":", ""))
    assert len(frame) == 60                                      # Ethernet's minimum, padded with zeros
    assert frame[0:6] == b"\xff" * 6 and frame[6:12] == own      # destination: broadcast; source: the VM
    assert struct.unpack("!H", frame[12:14]) == (0x8035,)        # ethertype RARP
    htype, ptype, hlen, plen, opcode = struct.unpack("!HHBBH", frame[14:22])
    assert (htype, ptype, hlen, plen, opcode) == (1, 0x0800, 6, 4, 3)   # Ethernet, IPv4, request reverse
    assert frame[22:28] == own and frame[28:32] == bytes(4)      # sender: the VM's MAC, no IP
    assert frame[32:38] == own and frame[38:42] == bytes(4)      # target: the VM's MAC, the IP it asks for
    assert frame[42:] == bytes(18)


def seconds(stamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def test_a_cross_vcenter_move_announces_the_macs_from_the_destination_host_after_the_resume(estate, monkeypatch):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    macs = macs_of(vc_a, "opportunistic")
    destination = estate.hosts["b70"].state
    resumed: list[float] = []
    adopt = destination.adopt

    def adopt_and_note(*args, **kwargs):      # when the VM runs on the destination
        vm = adopt(*args, **kwargs)
        resumed.append(time.time())
        return vm

    monkeypatch.setattr(destination, "adopt", adopt_and_note)
    task = to_vc_b(estate, vc_a, "opportunistic")
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.migration.hot
    sent = announced(vc_b, "b70")
    assert [a.mac_address for a in sent] == macs and len(macs) == 1
    vm = vc_b.api.GetVm(common_pb2.ObjectRef(name="opportunistic"))
    for announcement in sent:
        check_rarp(announcement.frame, announcement.mac_address)
        assert (announcement.host, announcement.vm_name, announcement.instance_uuid) == ("b70", "opportunistic", vm.instance_uuid)
        assert announcement.migration_id == task.migration.migration_id
        assert announcement.time >= resumed[0]                   # after the VM resumed there
        assert seconds(task.start_time) < announcement.time <= seconds(task.complete_time)
    arrived = [e for e in vc_b.api.QueryEvents(vcenter_pb2.EventFilter(vm="opportunistic")).events if e.type == "VmMigratedEvent"]
    assert seconds(arrived[0].created_time) >= sent[0].time - 1e-3   # it joined vc-b's inventory after announcing
    assert announced(vc_a, "a70") == []                          # the source says nothing


def test_a_move_inside_one_vcenter_announces_every_nic_from_the_destination_host(estate):
    vc_a = client_of(estate, "vc-a")
    create = vcenter_pb2.CreateVmRequest(name="two-nics", host="a70", datastore="ds-a", memory_mb=16,
                                         nics=[vcenter_pb2.VirtualNicSpec(network="VM Network")] * 2)
    assert wait_task(vc_a, vc_a.api.CreateVm(create)).state == common_pb2.TASK_STATE_SUCCESS
    assert wait_task(vc_a, vc_a.api.PowerOnVm(common_pb2.ObjectRef(name="two-nics"))).state == common_pb2.TASK_STATE_SUCCESS
    assert announced(vc_a, "a70") == []                          # a power-on is no vMotion announcement
    macs = macs_of(vc_a, "two-nics")
    task = relocate(vc_a, "two-nics", host="a67")
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.migration.hot
    sent = announced(vc_a, "a67")
    assert sorted(a.mac_address for a in sent) == sorted(macs) and len(set(macs)) == 2
    for announcement in sent:
        check_rarp(announcement.frame, announcement.mac_address)
        assert announcement.migration_id == task.migration.migration_id
    assert announced(vc_a, "a70") == []
    # moved back: the other host announces, the first keeps what it sent
    back = relocate(vc_a, "two-nics", host="a70")
    assert sorted(a.mac_address for a in announced(vc_a, "a70")) == sorted(macs)
    assert {a.migration_id for a in announced(vc_a, "a70")} == {back.migration.migration_id}
    assert len(announced(vc_a, "a67")) == 2


def test_a_cold_move_announces_nothing(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    task = to_vc_b(estate, vc_a, "off-opportunistic")
    assert task.state == common_pb2.TASK_STATE_SUCCESS and not task.migration.hot
    assert announced(vc_b, "b70") == [] and announced(vc_a, "a70") == []
    # and powering it on where it arrived is not an announcement either
    assert wait_task(vc_b, vc_b.api.PowerOnVm(common_pb2.ObjectRef(name="off-opportunistic"))).state == common_pb2.TASK_STATE_SUCCESS
    assert announced(vc_b, "b70") == []


def test_a_move_that_fails_after_the_destination_verified_its_copy_announces_nothing(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    vc_a.emulator.AddFaultRule(fault_rule("final_pages", "error", part="a70", vm="opportunistic", fault="Timedout"))
    task = to_vc_b(estate, vc_a, "opportunistic")
    assert task.state == common_pb2.TASK_STATE_ERROR
    assert announced(vc_b, "b70") == [] and announced(vc_a, "a70") == []


def test_a_cancelled_move_announces_nothing(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    vc_a.emulator.AddFaultRule(fault_rule("precopy_round", "delay", part="a70", vm="opportunistic", delay_seconds=1.0))
    spec = vcenter_pb2.RelocateSpec(host="b70", datastore="ds-b", pool="cluster-b", service=locator_of(estate, "vc-b"))
    moving = vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"), spec=spec))
    deadline = time.monotonic() + 10
    while not estate.hosts["a70"].migrations.leaving(vc_a.api.GetVm(common_pb2.ObjectRef(name="opportunistic")).instance_uuid):
        assert time.monotonic() < deadline, "the page stream never started"   # the destination is prepared by then
        time.sleep(0.02)
    vc_a.api.CancelTask(vcenter_pb2.GetTaskRequest(key=moving.key))
    done = wait_task(vc_a, moving)
    assert isinstance(task_fault(done), RequestCanceled)
    assert announced(vc_b, "b70") == [] and announced(vc_a, "a70") == []


def test_announcements_of_an_unknown_host_are_not_found(estate):
    vc_a = client_of(estate, "vc-a")
    code, fault = call_fault(vc_a.api.ListHostAnnouncements, common_pb2.ObjectRef(name="b70"))   # a host of vc-b
    assert code == grpc.StatusCode.NOT_FOUND and isinstance(fault, NotFound)
    assert fault.message == "vc-a has no host named 'b70'"

"""Guest control through the Emulator service: a client sets how a guest writes, writes a marker into
its memory and reads the digest wherever the VM runs, with no host certificate."""

from __future__ import annotations

import time

import grpc
import pytest
from estate_helpers import call_fault, client_of, vm_ref, wait_task
from migration_estate import migration_estate, to_vc_b

from linkedmode.model.faults import InvalidPowerState, NoPermission
from linkedmode.v1 import common_pb2, emulator_pb2, inventory_pb2, vcenter_pb2

OK = common_pb2.TASK_STATE_SUCCESS


@pytest.fixture(scope="module")
def estate():
    with migration_estate() as running:
        yield running


def workload(rate: float, working_set_mb: int) -> inventory_pb2.GuestWorkload:
    return inventory_pb2.GuestWorkload(dirty_rate_mbps=rate, working_set_mb=working_set_mb)


def set_workload(client, vm: str, rate: float, working_set_mb: int) -> inventory_pb2.VirtualMachine:
    return client.emulator.SetGuestWorkload(emulator_pb2.SetGuestWorkloadRequest(vm=vm_ref(vm), workload=workload(rate, working_set_mb)))


def digest(client, vm: str) -> str:
    return client.emulator.GetGuestMemory(vm_ref(vm)).digest


def test_a_marker_written_before_a_move_is_read_back_at_the_destination(estate):
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    try:
        changed = set_workload(vc_a, "opportunistic", 0, 0)    # a still guest: its digest holds
        assert changed.workload.dirty_rate_mbps == 0
        written = vc_a.emulator.WriteGuestMemory(emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref("opportunistic"),
                                                                                      marker=b"crossed-intact", page=7))
        assert written.digest == digest(vc_a, "opportunistic") and written.written_pages >= 1
        moved = to_vc_b(estate, vc_a, "opportunistic")
        assert moved.state == OK, moved.error
        assert moved.migration.encrypted
        arrived = vc_b.emulator.GetGuestMemory(vm_ref("opportunistic"))
        assert arrived.digest == written.digest and arrived.power_state == common_pb2.POWER_STATE_POWERED_ON
        assert vc_b.api.GetVm(vm_ref("opportunistic")).workload.dirty_rate_mbps == 0
        # a different marker gives a different digest: the comparison above says something
        other = vc_b.emulator.WriteGuestMemory(emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref("opportunistic"),
                                                                                    marker=b"changed-after", page=7))
        assert other.digest != written.digest
    finally:
        vc_a.close()
        vc_b.close()


def test_the_workload_changes_the_running_guest(estate):
    vc_a = client_of(estate, "vc-a")
    try:
        assert set_workload(vc_a, "disabled", 0, 0).workload.working_set_mb == 0
        still = digest(vc_a, "disabled")
        time.sleep(0.2)
        assert digest(vc_a, "disabled") == still                # nobody writes
        vm = set_workload(vc_a, "disabled", 4, 8)
        assert (vm.workload.dirty_rate_mbps, vm.workload.working_set_mb) == (4, 8)
        assert vc_a.api.GetVm(vm_ref("disabled")).workload.working_set_mb == 8
        deadline = time.monotonic() + 20
        while digest(vc_a, "disabled") == still and time.monotonic() < deadline:
            time.sleep(0.05)
        assert digest(vc_a, "disabled") != still                # the guest writes again
        reconfigured = [e for e in vc_a.api.QueryEvents(vcenter_pb2.EventFilter(vm="disabled")).events if e.type == "VmReconfiguredEvent"]
        assert reconfigured[-1].message == "Reconfigured disabled: guest dirties 4 MB/s over 8 MB"
    finally:
        set_workload(vc_a, "disabled", 0, 0)
        vc_a.close()


def test_a_powered_off_vm_takes_its_new_workload_when_it_starts(estate):
    vc_a = client_of(estate, "vc-a")
    try:
        assert set_workload(vc_a, "off-opportunistic", 0, 2).workload.working_set_mb == 2
        code, fault = call_fault(vc_a.emulator.GetGuestMemory, vm_ref("off-opportunistic"))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(fault, InvalidPowerState)
        assert fault.message == "off-opportunistic is poweredOff: only a running guest has memory to write or read"
        assert wait_task(vc_a, vc_a.api.PowerOnVm(vm_ref("off-opportunistic"))).state == OK
        first = digest(vc_a, "off-opportunistic")
        time.sleep(0.2)
        assert digest(vc_a, "off-opportunistic") == first       # rate 0: the guest holds still
        filled = vc_a.emulator.WriteGuestMemory(emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref("off-opportunistic"),
                                                                                     random_fraction=0.5))
        assert filled.written_pages >= filled.pages // 4 and filled.digest != first
    finally:
        wait_task(vc_a, vc_a.api.PowerOffVm(vm_ref("off-opportunistic")))
        vc_a.close()


def test_bad_workloads_and_pages_are_refused(estate):
    vc_a = client_of(estate, "vc-a")
    try:
        code, fault = call_fault(set_workload, vc_a, "required", 1, 32)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "workload.working_set_mb 32 is not between 0 and 16"
        code, fault = call_fault(set_workload, vc_a, "required", -1, 0)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "workload.dirty_rate_mbps -1.0 is not between 0 and 100000"
        code, fault = call_fault(vc_a.emulator.WriteGuestMemory,
                                 emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref("required"), marker=b"x", page=4096))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "page 4096 is not between 0 and 4095"
        code, fault = call_fault(vc_a.emulator.WriteGuestMemory,
                                 emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref("required"), page=1))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and fault.message == "give random_fraction, marker or both"
        assert vc_a.api.GetVm(vm_ref("required")).workload.working_set_mb == 4     # unchanged
    finally:
        vc_a.close()


def test_a_read_only_user_cannot_control_a_guest(estate):
    auditor = client_of(estate, "vc-a", "auditor")
    try:
        for call, request in (
            (auditor.emulator.SetGuestWorkload, emulator_pb2.SetGuestWorkloadRequest(vm=vm_ref("required"), workload=workload(1, 1))),
            (auditor.emulator.WriteGuestMemory, emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref("required"), marker=b"x")),
            (auditor.emulator.GetGuestMemory, vm_ref("required")),
        ):
            code, fault = call_fault(call, request)
            assert code == grpc.StatusCode.PERMISSION_DENIED and isinstance(fault, NoPermission)
            assert fault.message.startswith("user auditor (read-only) may not call") and fault.message.endswith("it needs the admin role")
    finally:
        auditor.close()

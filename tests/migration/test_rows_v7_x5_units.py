"""The parts of rows V7 and X5 that need no server: the RARP frame and the host's bounded log of
announcements; the performance history's rounds, ageing and CPU arithmetic."""

from __future__ import annotations

import threading
import time

import pytest
from perf_fakes import FakeInventory

from linkedmode.host.announce import HostNetwork, rarp_frame
from linkedmode.model.faults import HostNotConnected, InvalidArgument
from linkedmode.model.inventory import Host, Vm
from linkedmode.model.settings import PowerState
from linkedmode.topology.spec import VCenterTimeouts
from linkedmode.vcenter.perf_history import PerfHistory, VmCounters, cpu_usage_percent
from linkedmode.vcenter.performance import PerformanceManager


def test_the_rarp_frame_is_a_broadcast_request_reverse_for_the_mac():
    frame = rarp_frame("00:50:56:3f:00:01")
    assert frame.hex() == ("ffffffffffff" "0050563f0001" "8035"          # Ethernet: broadcast, from the VM, RARP
                           "0001" "0800" "06" "04" "0003"                 # Ethernet/IPv4, request reverse
                           "0050563f0001" "00000000" "0050563f0001" "00000000" + "00" * 18)


@pytest.mark.parametrize("mac", ["", "00:50:56:3f:00", "00-50-56-3f-00-01", "00:50:56:3f:00:zz", "0:50:56:3f:00:01"])
def test_a_mac_that_is_not_one_is_refused(mac):
    with pytest.raises(InvalidArgument) as refused:
        rarp_frame(mac)
    assert str(refused.value.message) == f"{mac!r} is not a MAC address (six hex pairs separated by colons)"


def test_the_host_keeps_its_latest_announcements_and_skips_a_bad_mac():
    network = HostNetwork(kept=3)
    sent = network.announce("uuid-1", "web", ("00:50:56:00:00:01", "bad", "00:50:56:00:00:02"), 7)
    assert [a.mac_address for a in sent] == ["00:50:56:00:00:01", "00:50:56:00:00:02"]
    network.announce("uuid-2", "db", ("00:50:56:00:00:03", "00:50:56:00:00:04"), 8)
    assert [a.mac_address for a in network.announcements()] == ["00:50:56:00:00:02", "00:50:56:00:00:03", "00:50:56:00:00:04"]
    network.reset()
    assert network.announcements() == []


def counters(uptime: float, cpu: float, uuid: str = "uuid-1", num_cpu: int = 1, mem: int = 1024) -> VmCounters:
    return VmCounters(uuid, uptime, cpu, num_cpu, mem)


def test_cpu_usage_is_over_the_interval_or_over_the_run_when_the_counters_began_again():
    assert cpu_usage_percent(counters(10, 1), None) == pytest.approx(10)
    assert cpu_usage_percent(counters(20, 6), counters(10, 1)) == pytest.approx(50)
    assert cpu_usage_percent(counters(4, 2, num_cpu=2), counters(10, 1)) == pytest.approx(25)   # restarted: 2 s of 2 vCPUs for 4 s
    assert cpu_usage_percent(counters(0, 0), None) == 0
    assert cpu_usage_percent(counters(1, 5), None) == 100


def test_samples_age_out_after_the_rounds_kept_and_an_empty_series_goes():
    clock = iter(range(100, 200))
    history = PerfHistory(kept=3, interval=1.0, clock=lambda: float(next(clock)))
    history.record({"vm-1": counters(1, 0.5), "vm-2": counters(1, 0)})
    history.record({"vm-1": counters(2, 0.5)})
    assert [(s.time, s.cpu_usage_percent) for s in history.samples("vm-1")] == [(100, 50), (101, 0)]
    history.record({"vm-1": counters(3, 1)})
    history.record({"vm-1": counters(4, 1)})
    assert [s.time for s in history.samples("vm-1")] == [101, 102, 103]
    assert [s.time for s in history.samples("vm-1", 2)] == [102, 103]
    assert not history.holds("vm-2") and history.samples("vm-2") == []    # its one sample aged out
    history.record({})
    history.record({})
    history.record({})
    assert history.series_count() == 0


def test_another_vm_under_a_moid_starts_a_new_series():
    history = PerfHistory(kept=10, interval=1.0, clock=lambda: 1.0)
    history.record({"vm-1": counters(1, 0, uuid="first")})
    history.record({"vm-1": counters(1, 0, uuid="second", mem=2048)})
    assert history.instance_uuid("vm-1") == "second"
    assert [s.mem_consumed_kb for s in history.samples("vm-1")] == [2048]


class _Hosts:
    """Host agents: `hang` does not answer in time (it takes every second it is given and fails)."""

    def __init__(self, hang: str):
        self.hang = hang
        self.asked: list[tuple[str, float]] = []

    def agent(self, host):
        hosts = self

        class Agent:
            def vm_stats(self, timeout):
                hosts.asked.append((host.name, timeout))
                if host.name == hosts.hang:
                    time.sleep(timeout)
                    raise HostNotConnected(f"host {host.name} does not answer", object=host.moid)
                return [counters(10, 1, uuid=f"uuid-{host.name}")]

            def vm_stats_later(self, timeout, answered):
                """As a channel does: the answer (or the fault) comes later, on another thread."""
                def answer():
                    try:
                        answered(self.vm_stats(timeout))
                    except HostNotConnected as fault:
                        answered(fault)
                threading.Thread(target=answer, daemon=True).start()

        return Agent()


def test_a_round_is_bounded_in_time_and_a_host_that_hangs_costs_only_its_own_samples():
    hosts = _Hosts(hang="esx-1")
    state = FakeInventory(Host(moid="host-1", name="esx-1"), Host(moid="host-2", name="esx-2"), Host(moid="host-3", name="esx-3"),
                       Vm(moid="vm-1", name="a", instance_uuid="uuid-esx-1", host="host-1", power_state=PowerState.POWERED_ON),
                       Vm(moid="vm-2", name="b", instance_uuid="uuid-esx-2", host="host-2", power_state=PowerState.POWERED_ON),
                       Vm(moid="vm-3", name="c", instance_uuid="uuid-esx-3", host="host-3", power_state=PowerState.POWERED_OFF))
    perf = PerformanceManager(state, hosts, VCenterTimeouts(perf_interval=20.0, host_heartbeat=1.0))
    started = time.monotonic()
    assert perf.sample() == 0                     # esx-1 took the whole round: the others were not asked in time
    assert time.monotonic() - started < 2.0
    assert [name for name, _ in hosts.asked] == ["esx-1"]
    hosts.hang = ""
    assert perf.sample() == 2                     # esx-3 answers for a VM the inventory has powered off: no sample
    assert [name for name, _ in hosts.asked[1:]] == ["esx-1", "esx-2", "esx-3"]
    assert [s.mem_consumed_kb for s in perf.history.samples("vm-2")] == [1024]
    assert perf.history.samples("vm-3") == []


def test_a_host_gives_samples_only_of_the_vms_the_inventory_runs_there():
    hosts = _Hosts(hang="")
    moved = Vm(moid="vm-1", name="a", instance_uuid="uuid-esx-1", host="host-2", power_state=PowerState.POWERED_ON)
    state = FakeInventory(Host(moid="host-1", name="esx-1"), Host(moid="host-2", name="esx-2"), moved)
    perf = PerformanceManager(state, hosts, VCenterTimeouts(perf_interval=20.0))
    assert perf.sample_host(state.get("host-1", Host)) == 0     # the inventory has it on esx-2 now
    state.objects.remove(moved)                                 # it left the vCenter: no sample after that
    assert perf.sample_host(state.get("host-1", Host)) == 0
    state.objects.append(Vm(moid="vm-7", name="a", instance_uuid="uuid-esx-1", host="host-1", power_state=PowerState.POWERED_ON))
    assert perf.sample_host(state.get("host-1", Host)) == 1     # back under a new moid: the map is read again
    assert perf.history.holds("vm-7") and not perf.history.holds("vm-1")


def test_the_scenario_check_takes_only_the_exact_announcement_of_the_mac():
    from linkedmode.scenario.observations import rarp_problem

    mac = "00:50:56:aa:bb:01"
    assert rarp_problem(rarp_frame(mac), mac) == ""
    other = rarp_problem(rarp_frame("00:50:56:aa:bb:02"), mac)
    assert other.startswith(f"not the RARP announcement of {mac} (60 bytes, ethertype 8035, opcode 0003)")
    unpadded = rarp_problem(rarp_frame(mac)[:42], mac)
    assert "(42 bytes" in unpadded



def test_a_host_that_hangs_does_not_hold_the_reaper_it_was_asked_from():
    """The sampler asks one host per turn of the vCenter's reaper, which also runs its expiries and
    settling: a host that takes its whole time to fail must not delay them, nor the other hosts."""
    from linkedmode.reaper import Reaper

    hosts = _Hosts(hang="esx-1")
    state = FakeInventory(Host(moid="host-1", name="esx-1"), Host(moid="host-2", name="esx-2"),
                          Vm(moid="vm-2", name="b", instance_uuid="uuid-esx-2", host="host-2", power_state=PowerState.POWERED_ON))
    perf = PerformanceManager(state, hosts, VCenterTimeouts(perf_interval=1.0, host_heartbeat=2.0))   # ask: 1 s
    reaper = Reaper("vc-test")
    ran: list[float] = []
    try:
        perf.start(reaper)
        time.sleep(1.05)                                   # the first turn (esx-1) is due one interval after start
        asked = time.monotonic()
        reaper.after(0.05, lambda: ran.append(time.monotonic() - asked), name="an expiry")
        deadline = time.monotonic() + 10
        while not (ran and perf.history.samples("vm-2", 0)) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        reaper.stop()
    assert ran and ran[0] < 0.5                            # not held for the second esx-1 takes to fail
    assert perf.history.samples("vm-2", 0)                 # esx-2 sampled all the same
    assert ("esx-1", 1.0) in hosts.asked

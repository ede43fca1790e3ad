"""A VM migrates between two host servers in separate processes, over the calls a vCenter makes."""

from __future__ import annotations

import os

import pytest

from linkedmode.bench.stream import BenchSettings, StreamBench
from linkedmode.model.faults import NotFound
from linkedmode.v1 import common_pb2


@pytest.fixture
def bench(tmp_path):
    running = StreamBench(BenchSettings(memory_mb=32, dirty_rate_mbps=8, working_set_mb=8), tmp_path)
    yield running
    running.close()


def test_the_hosts_are_other_processes(bench):
    assert len({p.pid for p in bench.processes} | {os.getpid()}) == 3
    assert all(p.process.poll() is None for p in bench.processes)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_a_busy_vm_with_random_memory_moves_whole_and_leaves_the_source(bench, encrypted):
    bench.power_on()
    source, destination = bench.agent(0), bench.agent(1)
    assert source.guest_memory(bench.vm).written_pages == 32 * 256
    run = bench.migrate(encrypted)
    assert run.encrypted is encrypted and run.rounds >= 1 and run.bytes_sent >= 32 << 20
    assert bench.vm.instance_uuid not in source.running()
    assert destination.guest_memory(bench.vm).power_state == common_pb2.POWER_STATE_POWERED_ON
    with pytest.raises(NotFound):
        source.guest_memory(bench.vm)


def test_an_idle_vm_arrives_with_the_same_memory_digest(tmp_path):
    bench = StreamBench(BenchSettings(memory_mb=32), tmp_path)
    try:
        bench.power_on()
        before = bench.agent(0).guest_memory(bench.vm).digest
        bench.migrate(encrypted=True)
        after = bench.agent(1).guest_memory(bench.vm)
        assert after.digest == before and after.written_pages == 32 * 256
        bench.migrate(encrypted=False)   # and back, in the clear
        assert bench.agent(0).guest_memory(bench.vm).digest == before
    finally:
        bench.close()

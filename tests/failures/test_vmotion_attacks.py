"""A man in the middle on the vMotion network between two host processes: encrypted, it reads nothing
of the guest and every alteration ends the migration with the VM safe on the source; in the clear it
reads guest memory, which is what `disabled` means (rows E9, V5)."""

from __future__ import annotations

import socket

import pytest
from vmotion_mitm import Tamper, VMotionProxy

from linkedmode.bench.stream import BenchSettings, StreamBench
from linkedmode.model.faults import Fault

MARKER = b"LINKEDMODE-GUEST-SECRET-7f3a"


@pytest.fixture
def bench(tmp_path):
    running = StreamBench(BenchSettings(memory_mb=16), tmp_path)
    running.power_on()
    running.agent(0).write_guest_memory(running.vm, marker=MARKER, every_pages=16)
    yield running
    running.close()


def through(proxy_box: list, tamper: Tamper | None = None):
    def via(address: str) -> str:
        host, _, port = address.rpartition(":")
        proxy = VMotionProxy((host, int(port)), tamper)
        proxy_box.append(proxy)
        return "{}:{}".format(*proxy.address)
    return via


def where_it_runs(bench) -> list[int]:
    return [i for i in (0, 1) if bench.vm.instance_uuid in bench.agent(i).running()]


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_a_tap_reads_guest_memory_only_in_the_clear(bench, encrypted):
    proxies: list[VMotionProxy] = []
    bench.migrate(encrypted, via=through(proxies))
    seen = MARKER in bytes(proxies[0].captured)
    proxies[0].close()
    assert seen is not encrypted
    assert where_it_runs(bench) == [1]


@pytest.mark.parametrize("action", ["flip_payload", "flip_header", "replay", "reorder", "drop"])
def test_every_alteration_ends_the_migration_with_the_vm_on_the_source(bench, action):
    digest = bench.agent(0).guest_memory(bench.vm).digest
    proxies: list[VMotionProxy] = []
    with pytest.raises(Fault):
        bench.migrate(True, via=through(proxies, Tamper(action, nth=1)))
    proxies[0].close()
    assert proxies[0].tampered
    assert where_it_runs(bench) == [0]
    assert bench.agent(0).guest_memory(bench.vm).digest == digest
    assert not bench.agent(1).migrations()


def test_a_captured_migration_replayed_into_a_later_one_is_refused(bench):
    proxies: list[VMotionProxy] = []
    bench.migrate(True, via=through(proxies))        # esx-1 -> esx-2, captured on the way
    captured = bytes(proxies[0].captured)
    proxies[0].close()

    def replay_then_forward(address: str) -> str:
        host, _, port = address.rpartition(":")
        with socket.create_connection((host, int(port))) as attacker:   # the old stream, first in line
            try:
                attacker.sendall(captured)
                attacker.settimeout(2)
                attacker.recv(1024)
            except OSError:
                pass
        return address

    bench.migrate(True, via=replay_then_forward)       # esx-2 -> esx-1, the real one after the replay
    assert where_it_runs(bench) == [0]
    assert MARKER not in captured

"""The vMotion port before authentication: a flood of idle connections and a trickling sender cost the
destination host next to nothing and are cut off, while a real migration goes through (loopback only,
every loop bounded in count and time)."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from vmotion_helpers import secrets_pair

from linkedmode.vmotion import GuestMemory, OutgoingMigration, VMotionListener
from linkedmode.vmotion.abort_codes import AbortCode
from linkedmode.vmotion.frames import HELLO, FrameHeader, FrameKind
from linkedmode.vmotion.handshake import VMotionLimits

FLOOD = 200
PER_SOURCE = 8
TOTAL = 24


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def wait_until(condition, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def is_closed(sock: socket.socket) -> bool:
    """The listener closed this client connection (it sent nothing, so we see an end of stream)."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(64) == b""
    except OSError:
        return True


@pytest.fixture
def guarded() -> Iterator[VMotionListener]:
    with VMotionListener(idle_timeout_s=5.0, limits=VMotionLimits(TOTAL, PER_SOURCE, hello_seconds=3.0)) as running:
        yield running


@pytest.fixture
def vm() -> Iterator[GuestMemory]:
    memory = GuestMemory(16)
    memory.fill_random(0.5)
    yield memory
    memory.close()


def flood(stack: ExitStack, address: tuple[str, int], count: int, sources: list[str]) -> list[socket.socket]:
    """``count`` idle connections, from the loopback ``sources`` in turn."""
    clients = []
    for i in range(count):
        client = socket.create_connection(address, timeout=5, source_address=(sources[i % len(sources)], 0))
        stack.enter_context(client)
        clients.append(client)
    return clients


def migrate(vm: GuestMemory, listener: VMotionListener) -> None:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)
    OutgoingMigration(vm, listener.address, source).run()
    assert incoming.wait(10).digest() == vm.digest()


def test_an_idle_flood_from_one_source_is_capped_costs_no_memory_or_threads_and_a_migration_goes_through(
        guarded: VMotionListener, vm: GuestMemory) -> None:
    source, destination, _ = secrets_pair()
    incoming = guarded.prepare(destination, vm.memory_mb)        # the destination's memory, before the baseline
    threads, rss = threading.active_count(), rss_bytes()
    with ExitStack() as stack:
        clients = flood(stack, guarded.address, FLOOD, ["127.0.0.2"])
        assert wait_until(lambda: guarded.handshake.over_limit == FLOOD - PER_SOURCE)
        grown = rss_bytes() - rss
        assert guarded.handshake.unauthenticated == PER_SOURCE
        assert threading.active_count() <= threads                    # no thread per connection
        assert grown < 16 << 20, f"{FLOOD} idle connections grew the process by {grown >> 20} MiB"
        assert wait_until(lambda: sum(map(is_closed, clients)) == FLOOD - PER_SOURCE)
        assert not any(is_closed(c) for c in clients[:PER_SOURCE])   # the first ones wait for their HELLO
        OutgoingMigration(vm, guarded.address, source).run()          # from another address: not held back
        assert incoming.wait(10).digest() == vm.digest()
        assert guarded.refused_connections == FLOOD - PER_SOURCE


def test_beyond_the_total_cap_connections_are_closed_and_the_held_ones_go_at_the_hello_deadline(
        guarded: VMotionListener, vm: GuestMemory) -> None:
    sources = [f"127.0.1.{i}" for i in range(1, 11)]               # 10 addresses, at most 8 each
    with ExitStack() as stack:
        clients = flood(stack, guarded.address, 60, sources)
        assert wait_until(lambda: guarded.handshake.over_limit == 60 - TOTAL)
        assert guarded.handshake.unauthenticated == TOTAL
        assert wait_until(lambda: sum(map(is_closed, clients)) == 60 - TOTAL)
        # the HELLO deadline (3 s) frees the slots the flood holds; then migrations get in again
        assert wait_until(lambda: guarded.handshake.unauthenticated == 0, seconds=8)
        assert guarded.handshake.late == TOTAL
        assert wait_until(lambda: all(map(is_closed, clients)))
        migrate(vm, guarded)


def trickle(address: tuple[str, int], every_s: float, report: dict) -> None:
    """Sends a valid HELLO one byte at a time (at most 40 bytes, at most ~12 s), until the listener hangs up."""
    hello = FrameHeader(FrameKind.HELLO, False, 0x77, 0, HELLO.size).pack() + HELLO.pack(1, 256, b"")
    with socket.create_connection(address, timeout=5) as sock:
        started = time.monotonic()
        for byte in hello[:-1]:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            if select.select([sock], [], [], every_s)[0]:
                break
        try:
            sock.settimeout(5)
            report["eof"] = sock.recv(64) == b""
        except OSError:
            report["eof"] = True
        report["after_s"] = time.monotonic() - started


def test_a_trickling_sender_is_dropped_at_the_hello_deadline_while_a_migration_goes_through(vm: GuestMemory) -> None:
    with VMotionListener(limits=VMotionLimits(hello_seconds=1.0)) as listener:
        report: dict = {}
        sender = threading.Thread(target=trickle, args=(listener.address, 0.25, report))
        sender.start()
        migrate(vm, listener)
        sender.join(15)
        assert not sender.is_alive()
        assert report["eof"] and 0.9 <= report["after_s"] < 4.0, report     # one byte every 0.25 s: never enough
        assert listener.handshake.late == 1 and listener.refused_connections == 1


def test_a_first_frame_that_is_not_a_hello_gets_an_abort_code_and_the_door(guarded: VMotionListener) -> None:
    pages = FrameHeader(FrameKind.PAGES, False, 0x77, 0, 4096).pack()
    with socket.create_connection(guarded.address, timeout=5) as sock:
        sock.sendall(pages)
        answer = b""
        while chunk := sock.recv(64):
            answer += chunk
    header = FrameHeader(FrameKind.ABORT, False, 0x77, 0, 2).pack()
    assert answer == header + AbortCode.BAD_HELLO.to_bytes(2, "big")
    assert guarded.refused_connections == 1
    assert wait_until(lambda: guarded.handshake.unauthenticated == 0)      # gone once we hung up too

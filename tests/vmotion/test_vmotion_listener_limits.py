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
from estate_helpers import rss_bytes
from vmotion_helpers import secrets_pair

from linkedmode.model.faults import Timedout
from linkedmode.vmotion import GuestMemory, OutgoingMigration, VMotionListener
from linkedmode.vmotion.abort_codes import AbortCode
from linkedmode.vmotion.frames import HELLO, FrameHeader, FrameKind
from linkedmode.vmotion.handshake import VMotionLimits, source_of

FLOOD = 200
PER_SOURCE = 8
TOTAL = 24


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


def test_a_flood_from_many_sources_fills_the_total_cap_costs_no_memory_and_a_migration_still_gets_in(
        guarded: VMotionListener, vm: GuestMemory) -> None:
    sources = [f"127.0.1.{i}" for i in range(1, 11)]               # 10 addresses, at most 8 each
    source, destination, _ = secrets_pair()
    incoming = guarded.prepare(destination, vm.memory_mb)
    threads, rss = threading.active_count(), rss_bytes()
    with ExitStack() as stack:
        clients = flood(stack, guarded.address, 60, sources)
        # every slot taken, 3 or 2 per address: a newcomer from one of them makes no room, it is closed
        assert wait_until(lambda: guarded.handshake.over_limit == 60 - TOTAL)
        assert guarded.handshake.unauthenticated == TOTAL and guarded.handshake.evicted == 0
        assert wait_until(lambda: sum(map(is_closed, clients)) == 60 - TOTAL)
        grown = rss_bytes() - rss
        assert threading.active_count() <= threads
        assert grown < 16 << 20, f"a flood of 60 connections grew the process by {grown >> 20} MiB"
        # a migration's source (127.0.0.1, holding none) takes the place of the oldest of a busiest address,
        # well before the HELLO deadline (3 s) would free any slot
        started = time.monotonic()
        OutgoingMigration(vm, guarded.address, source).run()
        assert incoming.wait(10).digest() == vm.digest()
        assert time.monotonic() - started < 2.5
        assert guarded.handshake.evicted == 1 and guarded.handshake.late == 0
        assert is_closed(clients[0])                                  # 127.0.1.1's oldest gave way
        # the HELLO deadline frees the slots the flood still holds
        assert wait_until(lambda: guarded.handshake.unauthenticated == 0, seconds=8)
        assert guarded.handshake.late == TOTAL - 1
        assert wait_until(lambda: all(map(is_closed, clients)))
        migrate(vm, guarded)


def test_a_full_table_makes_room_only_for_a_source_holding_two_fewer_than_the_busiest() -> None:
    limits = VMotionLimits(unauthenticated_connections=4, connections_per_source=3, hello_seconds=5.0)
    with VMotionListener(limits=limits) as listener, ExitStack() as stack:
        stage = listener.handshake
        first = flood(stack, listener.address, 3, ["127.0.2.1"])      # 3 from .1
        second = flood(stack, listener.address, 1, ["127.0.2.2"])     # 1 from .2: full
        assert wait_until(lambda: stage.unauthenticated == 4)
        second += flood(stack, listener.address, 1, ["127.0.2.2"])    # .2 holds 1, .1 holds 3: room is made
        assert wait_until(lambda: stage.evicted == 1) and wait_until(lambda: is_closed(first[0]))
        assert stage.unauthenticated == 4
        again = flood(stack, listener.address, 1, ["127.0.2.2"])      # .1 and .2 hold 2 each: none for .2
        assert wait_until(lambda: stage.over_limit == 1) and wait_until(lambda: is_closed(again[0]))
        assert stage.evicted == 1 and stage.unauthenticated == 4
        third = flood(stack, listener.address, 1, ["127.0.2.3"])      # .3 holds none: the oldest of .1 goes
        assert wait_until(lambda: stage.evicted == 2) and wait_until(lambda: is_closed(first[1]))
        assert stage.unauthenticated == 4 and stage.over_limit == 1
        assert not any(is_closed(c) for c in [first[2], *second, *third])


@pytest.mark.parametrize("address, counted_as", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("fe80::1%eth0", "fe80::/64"),
])
def test_an_ipv6_source_counts_by_its_64(address: str, counted_as: str) -> None:
    assert source_of(address) == counted_as


def trickle(address: tuple[str, int], every_s: float, report: dict) -> None:
    """Sends a valid HELLO one byte at a time (at most 40 bytes, at most ~12 s), until the listener hangs up."""
    hello = FrameHeader(FrameKind.HELLO, False, 0x77, 0, HELLO.size).pack() + HELLO.pack(1, 256, b"")
    with socket.create_connection(address, timeout=5, source_address=("127.0.0.2", 0)) as sock:   # not the migration's
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


def test_trickling_senders_are_dropped_at_the_hello_deadline_cost_no_memory_and_a_migration_goes_through(
        vm: GuestMemory) -> None:
    senders = 8
    with VMotionListener(limits=VMotionLimits(hello_seconds=1.0)) as listener:
        source, destination, _ = secrets_pair()
        incoming = listener.prepare(destination, vm.memory_mb)            # before the baseline
        rss = rss_bytes()
        reports: list[dict] = [{} for _ in range(senders)]
        threads = [threading.Thread(target=trickle, args=(listener.address, 0.25, report)) for report in reports]
        for sender in threads:
            sender.start()
        assert wait_until(lambda: listener.handshake.unauthenticated == senders)
        grown = rss_bytes() - rss
        assert grown < 8 << 20, f"{senders} trickling senders grew the process by {grown >> 20} MiB"
        OutgoingMigration(vm, listener.address, source).run()              # while they trickle
        assert incoming.wait(10).digest() == vm.digest()
        for sender in threads:
            sender.join(15)
            assert not sender.is_alive()
        for report in reports:                                             # one byte every 0.25 s: never enough
            assert report["eof"] and 0.9 <= report["after_s"] < 4.0, report
        assert listener.handshake.late == senders and listener.refused_connections == senders


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


def _wakeups(thread: threading.Thread) -> int:
    """Times the kernel switched to `thread` (voluntary and not): how often it woke."""
    with open(f"/proc/self/task/{thread.native_id}/status", encoding="ascii") as status:
        fields = dict(line.split(":", 1) for line in status if "ctxt_switches" in line)
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])


def test_an_idle_listener_does_not_wake_and_a_prepared_migration_still_expires_on_time() -> None:
    """With nothing to accept and no deadline, the handshake thread sleeps (it used to wake every 0.25 s);
    a migration prepared meanwhile wakes it, and is failed once its source is late."""
    with VMotionListener() as listener:
        stage = listener.handshake._thread
        time.sleep(0.2)
        before = _wakeups(stage)
        time.sleep(1.5)
        assert _wakeups(stage) - before <= 1
        incoming = listener.prepare(None, 8, migration_id=0xABC, connect_within_s=0.3)
        began = time.monotonic()
        with pytest.raises(Timedout, match="did not connect in time"):
            incoming.wait(3)
        assert time.monotonic() - began < 2

"""Hot migrations over real loopback sockets: pre-copy, checkpoint, switchover, and what is left behind."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from vmotion_helpers import find_bytes, secrets_pair
from vmotion_mitm import Tamper, VMotionProxy

from linkedmode.model.faults import (
    AlreadyExists,
    Fault,
    InvalidArgument,
    InvalidState,
    MigrationFault,
    RequestCanceled,
    SwitchoverUnconfirmed,
    Timedout,
)
from linkedmode.vmotion import GuestMemory, GuestWorkload, MigrationOptions, OutgoingMigration, VMotionListener
from linkedmode.vmotion.digest import CHECKSUMS, MemoryDigest
from linkedmode.vmotion.frames import FrameKind
from linkedmode.vmotion.guest import PAGE_SIZE, REGION_PAGES
from linkedmode.vmotion.precopy import MigrationProgress


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_busy_guest_migrates_and_the_copies_match(listener: VMotionListener, vm: GuestMemory,
                                                   busy_guest: GuestWorkload, encrypted: bool) -> None:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, vm.memory_mb, source.migration_id)
    progress: list[MigrationProgress] = []
    # A slow link (25 MB/s): round 0 lasts long enough for the guest to dirty pages even when a busy machine starves it.
    migration = OutgoingMigration(vm, listener.address, source if encrypted else None, migration_id=source.migration_id,
                                  workload=busy_guest, device_state=b"vcpu0: rip=0xfff0", progress=progress.append,
                                  options=MigrationOptions(bandwidth_limit_mbps=25))
    result = migration.run()
    received = incoming.wait(5)

    assert busy_guest.stunned                       # the source copy is stale now: its host powers it off
    assert received.digest() == vm.digest()         # SHA-256 of both whole memories, independent of the engine
    assert result.digest_match and result.encrypted is encrypted
    assert incoming.device_state == b"vcpu0: rip=0xfff0" and incoming.state == "resumed"
    assert result.rounds == len(progress) >= 2 and progress[0].pages_left > 0
    assert result.pages_sent >= vm.written_count() and result.zero_pages > 0
    assert result.pages_sent + result.zero_pages >= vm.page_count
    assert 0 < result.downtime_ms < 1000 and result.duration_s > 0
    assert listener.incoming(source.migration_id) is None


def test_untouched_pages_do_not_cross_as_bytes(listener: VMotionListener) -> None:
    memory = GuestMemory(32)
    memory.fill_random(0.25)                        # 8 MB written, 24 MB never touched
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 32)
    with VMotionProxy(listener.address) as tap:
        result = OutgoingMigration(memory, tap.address, source).run()
        incoming.wait(5)
    written = 8 << 20
    assert result.zero_pages == 6144 and result.pages_sent == 2048
    assert result.bytes_sent == tap.bytes_forwarded
    assert written < tap.bytes_forwarded < written + (64 << 10)     # headers and tags only on top of the pages
    assert incoming.memory is not None and incoming.memory.written_count() == 2048


@pytest.mark.parametrize("outcome", ["success", "destination fault"])
def test_secrets_are_wiped_and_no_key_bytes_remain(listener: VMotionListener, vm: GuestMemory, outcome: str) -> None:
    source, destination, key = secrets_pair()
    if outcome == "destination fault":
        destination = type(destination)(source.migration_id, bytes(range(1, 33)), bytes(source.nonce_bytes))
    incoming = listener.prepare(destination, vm.memory_mb)
    migration = OutgoingMigration(vm, listener.address, source)
    assert find_bytes(migration, key) == ["root._secrets._key"]     # the search finds a key while one is held
    if outcome == "success":
        result = migration.run()
        incoming.wait(5)
        assert not find_bytes(result, key)
    else:
        with pytest.raises(MigrationFault) as info:
            migration.run()
        assert key.hex() not in str(info.value) and key not in str(info.value).encode("latin-1", "replace")
        if outcome == "destination fault":      # a HELLO that does not open is refused: the migration still waits
            assert incoming.state == "prepared"
            incoming.abort()
        with pytest.raises(Fault):
            incoming.wait(5)
    assert source.wiped and destination.wiped
    assert find_bytes(migration, key) == []
    assert find_bytes(incoming, key) == []
    assert find_bytes(listener, key) == []


def test_unprepared_migration_is_refused(listener: VMotionListener, vm: GuestMemory) -> None:
    source, _, _ = secrets_pair()
    with pytest.raises(MigrationFault, match="not prepared") as info:
        OutgoingMigration(vm, listener.address, source).run()
    assert info.value.arguments["reason"] == "peer_abort"
    assert listener.refused_connections == 1 and source.wiped


def test_memory_size_must_match_what_was_prepared(listener: VMotionListener, vm: GuestMemory) -> None:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb * 2)
    with pytest.raises(MigrationFault, match="pages"):
        OutgoingMigration(vm, listener.address, source).run()
    with pytest.raises(MigrationFault) as info:
        incoming.wait(5)
    assert info.value.arguments["reason"] == "size_mismatch" and incoming.memory is None


def test_destination_abort_before_the_source_connects(listener: VMotionListener) -> None:
    _, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 8)
    assert incoming.memory is not None and incoming.state == "prepared"
    incoming.abort()
    with pytest.raises(RequestCanceled):
        incoming.wait(1)
    assert destination.wiped and incoming.memory is None and listener.incoming(destination.migration_id) is None


def test_source_abort_mid_stream_resumes_the_guest(listener: VMotionListener, vm: GuestMemory,
                                                   busy_guest: GuestWorkload) -> None:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)
    migration = OutgoingMigration(vm, listener.address, source, workload=busy_guest,
                                  options=MigrationOptions(bandwidth_limit_mbps=20))      # ~0.4 s for round 0
    threading.Timer(0.1, migration.abort).start()
    with pytest.raises(RequestCanceled):
        migration.run()
    with pytest.raises(MigrationFault):
        incoming.wait(5)
    assert busy_guest.running and busy_guest.throttle_fraction == 0.0
    assert source.wiped and destination.wiped and incoming.memory is None


def test_failed_switchover_hand_over_leaves_the_vm_on_the_source(listener: VMotionListener, vm: GuestMemory,
                                                                 busy_guest: GuestWorkload) -> None:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)

    def hand_over(seconds_left: float) -> None:
        assert busy_guest.stunned and incoming.state == "verified" and 0 < seconds_left <= 100
        raise MigrationFault("the destination vCenter refused the commit")

    with pytest.raises(MigrationFault, match="refused the commit"):
        OutgoingMigration(vm, listener.address, source, workload=busy_guest, switchover=hand_over).run()
    with pytest.raises(MigrationFault, match=r"the source ended the migration: .*\(failed\)"):
        incoming.wait(5)                                            # the reason stays on the source: ABORT carries a code
    assert busy_guest.running and incoming.memory is None


def test_listener_close_aborts_expected_migrations() -> None:
    listener = VMotionListener()
    _, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 8)
    listener.close()
    with pytest.raises(RequestCanceled):
        incoming.wait(1)
    assert destination.wiped


def test_plaintext_migrations_need_an_id_and_run_concurrently(listener: VMotionListener) -> None:
    with pytest.raises(Exception, match="migration_id"):
        listener.prepare(None, 8)
    vms = [GuestMemory(8) for _ in range(3)]
    for i, memory in enumerate(vms):
        memory.fill_pattern(bytes([i + 1]) * 7)
    incoming = [listener.prepare(None, 8, 1000 + i) for i in range(3)]
    results: list = [None] * 3
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, OutgoingMigration(vms[i], listener.address, None, migration_id=1000 + i).run())) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for i in range(3):
        assert results[i] is not None and not results[i].encrypted
        assert incoming[i].wait(5).digest() == vms[i].digest()


def test_garbage_on_the_vmotion_port_is_refused_without_harm(listener: VMotionListener, vm: GuestMemory) -> None:
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)
    with socket.create_connection(listener.address) as intruder:
        intruder.sendall(b"GET / HTTP/1.1\r\nHost: esx\r\n\r\n" + bytes(64))
        intruder.settimeout(5)
        assert intruder.recv(1024) == b""                         # closed on us
    assert listener.refused_connections == 1 and incoming.state == "prepared"
    OutgoingMigration(vm, listener.address, source).run()         # the real migration is unaffected
    assert incoming.wait(5).digest() == vm.digest()


def test_link_cut_after_end_leaves_the_outcome_to_the_control_plane(listener: VMotionListener, vm: GuestMemory,
                                                                     busy_guest: GuestWorkload) -> None:
    """END is the commit point: without the destination's word, the source must not resume (two copies could run)."""
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)
    with VMotionProxy(listener.address, Tamper("cut", FrameKind.END, nth=0)) as proxy, pytest.raises(SwitchoverUnconfirmed) as info:
        OutgoingMigration(vm, proxy.address, source, workload=busy_guest).run()
    assert info.value.arguments == {"outcome": "unknown"}
    assert busy_guest.stunned                                      # neither resumed here ...
    with pytest.raises(MigrationFault):
        incoming.wait(5)                                           # ... nor there: END never arrived
    assert incoming.state == "failed" and source.wiped and destination.wiped


def test_a_migration_runs_once(listener: VMotionListener, vm: GuestMemory) -> None:
    incoming = listener.prepare(None, vm.memory_mb, 5)
    migration = OutgoingMigration(vm, listener.address, None, migration_id=5)
    migration.run()
    incoming.wait(5)
    with pytest.raises(InvalidState):
        migration.run()


@pytest.mark.parametrize("checksum", ["ghash", "sha256"])
def test_running_checkpoint_digest_equals_one_computed_from_scratch(listener: VMotionListener, vm: GuestMemory,
                                                                    busy_guest: GuestWorkload, checksum: str) -> None:
    """The digests are kept current round by round; at the checkpoint they must equal a fresh one of the stunned memory."""
    incoming = listener.prepare(None, vm.memory_mb, 9)
    options = MigrationOptions(checkpoint_digest=checksum, bandwidth_limit_mbps=100)
    result = OutgoingMigration(vm, listener.address, None, migration_id=9, workload=busy_guest, options=options).run()
    incoming.wait(5)
    fresh = MemoryDigest(vm.view(), vm.page_count, CHECKSUMS[checksum])
    fresh.update(0, vm.page_count)
    assert result.rounds >= 2 and result.digest == fresh.digest().hex()
    if checksum == "sha256":
        assert result.digest == vm.digest().hex()
    with pytest.raises(InvalidArgument):
        OutgoingMigration(vm, listener.address, None, migration_id=10, options=MigrationOptions(checkpoint_digest="md5")).run()


def test_a_source_that_never_connects_does_not_leave_a_key_behind(listener: VMotionListener) -> None:
    _, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 8, connect_within_s=0.1)
    with pytest.raises(Timedout):
        incoming.wait(3)
    assert destination.wiped and incoming.memory is None and listener.incoming(destination.migration_id) is None
    with pytest.raises(AlreadyExists):
        other = listener.prepare(None, 8, 1)
        listener.prepare(None, 8, 1)
    other.abort()


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_a_lazily_backed_guest_moves_every_written_page_and_the_destination_page_maps_hold_only_those(
        listener: VMotionListener, encrypted: bool) -> None:
    memory = GuestMemory(1024)                                           # 8 regions of 128 MiB; writes land in 4
    memory.write_page(0, b"first")
    memory.write(3 * REGION_PAGES - 2, os.urandom(300 * PAGE_SIZE))      # a run across a region boundary
    memory.write_page(memory.page_count - 1, b"last")
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, 1024, source.migration_id)
    result = OutgoingMigration(memory, listener.address, source if encrypted else None,
                               migration_id=source.migration_id).run()
    received = incoming.wait(5)
    assert received.digest() == memory.digest() and result.digest_match
    assert result.pages_sent == received.written_count() == 302
    assert received.read(0)[:5] == b"first" and received.read(memory.page_count - 1)[:4] == b"last"
    assert received.footprint == 4 * REGION_PAGES                       # page maps of the 4 regions written, no more
    received.close()
    memory.close()

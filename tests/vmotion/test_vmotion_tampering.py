"""A frame replayed, reordered, dropped, altered, foreign, or sealed under another key ends the migration:
the VM keeps running on the source with its memory intact, and the destination holds nothing (rows E9, V5)."""

from __future__ import annotations

import time

import pytest
from vmotion_helpers import find_bytes, secrets_pair
from vmotion_mitm import Tamper, VMotionProxy

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.model.faults import Fault, MigrationFault
from linkedmode.vmotion import GuestMemory, GuestWorkload, OutgoingMigration, VMotionListener
from linkedmode.vmotion.frames import FrameKind


def _untouched_by_guest(memory: GuestMemory) -> bytes:
    return memory.read(1024, memory.page_count - 1024)          # beyond the busy guest's 4 MB working set


def _frame_of_another_migration(listener: VMotionListener) -> bytes:
    """A genuine PAGES frame of another (encrypted) migration, captured on the wire."""
    other = GuestMemory(16)
    other.fill_random(0.5)
    source, destination, _ = secrets_pair()
    incoming = listener.prepare(destination, 16)
    with VMotionProxy(listener.address) as tap:
        OutgoingMigration(other, tap.address, source).run()
        incoming.wait(5)
    return next(f for f in tap.frames if f[5] == FrameKind.PAGES)


CASES = {
    "replayed frame": (Tamper("replay", FrameKind.PAGES, nth=2), "replayed"),
    "reordered frame": (Tamper("reorder", FrameKind.PAGES, nth=2), "out_of_sequence"),
    "dropped frame": (Tamper("drop", FrameKind.PAGES, nth=2), "out_of_sequence"),
    "dropped first frame": (Tamper("drop", FrameKind.PAGES, nth=0), "out_of_sequence"),
    "bit flipped in payload": (Tamper("flip_payload", FrameKind.PAGES, nth=2), "unauthenticated"),
    "header relabelled": (Tamper("flip_header", FrameKind.PAGES, nth=2), "unauthenticated"),
    "bit flipped in checkpoint": (Tamper("flip_payload", FrameKind.CHECKPOINT, nth=0), "unauthenticated"),
    "frame from another migration": (None, "foreign_migration"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_aborts_and_the_vm_stays_on_the_source(case: str, listener: VMotionListener, vm: GuestMemory,
                                                        busy_guest: GuestWorkload) -> None:
    tamper, reason = CASES[case]
    source, destination, key = secrets_pair()
    if case == "frame from another migration":
        tamper = Tamper("replace", FrameKind.PAGES, nth=2, replacement=_frame_of_another_migration(listener))
    before = _untouched_by_guest(vm)
    incoming = listener.prepare(destination, vm.memory_mb)

    with VMotionProxy(listener.address, tamper) as proxy, pytest.raises(MigrationFault) as on_source:
        OutgoingMigration(vm, proxy.address, source, workload=busy_guest).run()
    with pytest.raises(MigrationFault) as on_destination:
        incoming.wait(5)

    assert on_destination.value.arguments["reason"] == reason
    assert on_source.value.arguments["reason"] == "peer_abort"          # the source learns why, from the destination
    assert f"({reason})" in on_source.value.message                  # as a code: the ABORT carries no text
    if tamper is not None:
        assert proxy.tampered
    # the VM keeps running on the source, memory intact
    assert busy_guest.running and not busy_guest.stunned and busy_guest.throttle_fraction == 0.0
    written = busy_guest.pages_written
    assert _untouched_by_guest(vm) == before and not vm.closed
    # the destination holds nothing, and neither side holds the key
    assert incoming.state == "failed" and incoming.memory is None and listener.incoming(source.migration_id) is None
    assert source.wiped and destination.wiped
    for fault in (on_source.value, on_destination.value):
        assert key.hex() not in str(fault) and not find_bytes(fault.__dict__, key)
    assert not find_bytes(incoming, key)
    deadline = time.monotonic() + 2
    while busy_guest.pages_written == written and time.monotonic() < deadline:
        time.sleep(0.01)
    assert busy_guest.pages_written > written                        # and it is still writing


def test_plaintext_payload_alteration_is_caught_by_the_checkpoint_digest(listener: VMotionListener,
                                                                        vm: GuestMemory) -> None:
    incoming = listener.prepare(None, vm.memory_mb, 77)
    with VMotionProxy(listener.address, Tamper("flip_payload", FrameKind.PAGES, nth=1)) as proxy, \
            pytest.raises(MigrationFault, match="digest"):
        OutgoingMigration(vm, proxy.address, None, migration_id=77).run()
    with pytest.raises(Fault) as info:
        incoming.wait(5)
    assert info.value.arguments["reason"] == "digest_mismatch" and incoming.memory is None


def test_a_hello_sealed_under_another_key_is_refused_and_the_migration_still_waits(
        listener: VMotionListener, vm: GuestMemory) -> None:
    """Whoever cannot open the HELLO cannot take the migration, nor make it fail: the real source still can."""
    source, destination, key = secrets_pair()
    incoming = listener.prepare(destination, vm.memory_mb)
    stranger = MigrationSecrets(source.migration_id, bytes(range(1, 33)), bytes(source.nonce_bytes))
    with pytest.raises(MigrationFault) as refused:
        OutgoingMigration(vm, listener.address, stranger).run()
    assert refused.value.arguments["reason"] == "peer_abort"
    assert "failed authentication (unauthenticated)" in refused.value.message
    assert incoming.state == "prepared" and listener.refused_connections == 1
    OutgoingMigration(vm, listener.address, source).run()
    assert incoming.wait(5).digest() == vm.digest()
    assert source.wiped and destination.wiped and not find_bytes(incoming, key)

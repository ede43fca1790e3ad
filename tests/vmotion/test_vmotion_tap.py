"""What a tap on the vMotion network sees: guest memory in a plaintext migration, nothing in an encrypted one."""

from __future__ import annotations

import pytest
from vmotion_helpers import secrets_pair
from vmotion_mitm import VMotionProxy

from linkedmode.vmotion import GuestMemory, OutgoingMigration, VMotionListener

MARKER = b"guest-secret:credit-card=4111-1111-1111-1111"


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "encrypted"])
def test_tap_sees_guest_memory_only_in_plaintext(listener: VMotionListener, encrypted: bool) -> None:
    memory = GuestMemory(8)
    memory.fill_random(0.5)
    pages = memory.write_marker(MARKER, every_pages=128)
    source, destination, key = secrets_pair()
    incoming = listener.prepare(destination if encrypted else None, 8, source.migration_id)
    with VMotionProxy(listener.address) as tap:
        OutgoingMigration(memory, tap.address, source if encrypted else None, migration_id=source.migration_id).run()
        received = incoming.wait(5)
    assert received.read(pages[3])[:len(MARKER)] == MARKER          # the destination has it either way
    seen = bytes(tap.captured).count(MARKER)
    if encrypted:
        assert seen == 0
        assert key not in tap.captured                               # nor does the key ever cross
        assert memory.read(1)[:32] not in tap.captured               # nor any page as it is in memory
    else:
        assert seen == len(pages)

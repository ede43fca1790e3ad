"""Frame sealing: AES-256-GCM, header as associated data, nonces that never repeat under a key."""

from __future__ import annotations

import random

import pytest

from linkedmode.crypto.sealing import TAG_BYTES, TO_DESTINATION, TO_SOURCE, FrameSealer, FrameUnauthenticated, frame_nonce
from linkedmode.crypto.secrets import MigrationSecrets

HEADER = b"h" * 40


def test_frame_nonces_are_unique_per_sequence_number_and_direction() -> None:
    nonce = random.getrandbits(64)
    sequences = list(range(50_000)) + [(1 << 64) - 1 - i for i in range(1000)] + [random.getrandbits(64) for _ in range(1000)]
    seen = {frame_nonce(nonce, d, s) for d in (TO_DESTINATION, TO_SOURCE) for s in set(sequences)}
    assert len(seen) == 2 * len(set(sequences))
    assert all(len(n) == 12 for n in seen)


def test_nonce_is_direction_then_nonce_xor_sequence() -> None:
    assert frame_nonce(0x0123456789ABCDEF, 1, 0xFF) == bytes([0, 0, 0, 1]) + (0x0123456789ABCDEF ^ 0xFF).to_bytes(8, "big")
    with pytest.raises(ValueError):
        frame_nonce(0, 0, 1 << 64)


def _sealed(sealer: FrameSealer, sequence: int, payload: bytes, header: bytes = HEADER) -> bytearray:
    out = bytearray(len(payload) + TAG_BYTES)
    sealer.seal_into(sequence, header, payload, out)
    return out


def test_seal_then_open_round_trips_and_hides_the_payload() -> None:
    secrets = MigrationSecrets.generate()
    payload = b"guest page " * 400
    sealed = _sealed(FrameSealer(secrets, TO_DESTINATION), 7, payload)
    assert payload[:64] not in sealed
    out = bytearray(len(payload))
    FrameSealer(secrets, TO_DESTINATION).open_into(7, HEADER, sealed, out)
    assert out == payload


@pytest.mark.parametrize("change", ["header", "payload", "sequence", "direction", "key"])
def test_any_change_fails_authentication(change: str) -> None:
    secrets = MigrationSecrets.generate()
    sealed = _sealed(FrameSealer(secrets, TO_DESTINATION), 3, b"x" * 4096)
    header, sequence, opener = HEADER, 3, FrameSealer(secrets, TO_DESTINATION)
    if change == "header":
        header = b"H" + HEADER[1:]
    elif change == "payload":
        sealed[100] ^= 1
    elif change == "sequence":
        sequence = 4
    elif change == "direction":
        opener = FrameSealer(secrets, TO_SOURCE)
    else:
        opener = FrameSealer(MigrationSecrets(secrets.migration_id, bytes(range(1, 33)), secrets.nonce_bytes), TO_DESTINATION)
    with pytest.raises(FrameUnauthenticated) as info:
        opener.open_into(sequence, header, sealed, bytearray(4096))
    assert bytes(secrets.key).hex() not in str(info.value)


def test_closed_sealer_refuses_work_and_keeps_nothing() -> None:
    secrets = MigrationSecrets.generate()
    sealer = FrameSealer(secrets, TO_DESTINATION)
    sealer.close()
    assert sealer.closed and "closed" in repr(sealer)
    with pytest.raises(RuntimeError):
        _sealed(sealer, 0, b"x")

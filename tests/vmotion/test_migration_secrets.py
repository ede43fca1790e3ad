"""MigrationSecrets: random per migration, copied from the wire into buffers we can wipe, never shown."""

from __future__ import annotations

import copy
import pickle

import pytest

from linkedmode.crypto.secrets import KEY_BYTES, NONCE_BYTES, MigrationSecrets, SecretsWiped


def test_generate_makes_fresh_random_secrets() -> None:
    a, b = MigrationSecrets.generate(), MigrationSecrets.generate()
    assert len(a.key) == KEY_BYTES and len(a.nonce_bytes) == NONCE_BYTES
    assert isinstance(a.key, bytearray) and isinstance(a.nonce_bytes, bytearray)
    assert (a.migration_id, bytes(a.key), a.nonce) != (b.migration_id, bytes(b.key), b.nonce)
    assert 0 <= a.migration_id < 1 << 64 and 0 <= a.nonce < 1 << 64


def test_secrets_from_the_wire_are_copied_into_private_buffers() -> None:
    wire_key, wire_nonce = bytearray(range(1, 33)), bytearray(range(8))
    secrets = MigrationSecrets(42, wire_key, wire_nonce)
    wire_key[:] = bytes(32)                     # the caller's buffer changes (or is scrubbed) ...
    assert bytes(secrets.key) == bytes(range(1, 33))   # ... ours does not
    assert secrets.nonce == int.from_bytes(bytes(range(8)), "big")


@pytest.mark.parametrize("key, nonce", [(bytes(31), bytes(8)), (bytes(range(32)), bytes(9)), (bytes(32), bytes(8))])
def test_malformed_secrets_are_refused_without_showing_them(key: bytes, nonce: bytes) -> None:
    with pytest.raises(ValueError) as info:
        MigrationSecrets(1, key, nonce)
    assert key.hex() not in str(info.value) or not any(key)


def test_wipe_zeroes_in_place_is_idempotent_and_blocks_use() -> None:
    secrets = MigrationSecrets.generate()
    key_buffer, nonce_buffer = secrets.key, secrets.nonce_bytes
    secrets.wipe()
    secrets.wipe()
    assert secrets.wiped
    assert key_buffer == bytearray(KEY_BYTES) and nonce_buffer == bytearray(NONCE_BYTES)   # the same buffers, zeroed
    for use in (lambda: secrets.key, lambda: secrets.nonce, lambda: secrets.nonce_bytes):
        with pytest.raises(SecretsWiped, match="wiped"):
            use()


def test_repr_never_shows_key_bytes() -> None:
    secrets = MigrationSecrets.generate()
    key = bytes(secrets.key)
    for text in (repr(secrets), str(secrets), f"{secrets}"):
        assert key.hex() not in text and repr(key) not in text and "held" in text
    secrets.wipe()
    assert "wiped" in repr(secrets)


def test_secrets_cannot_be_pickled_or_copied() -> None:
    secrets = MigrationSecrets.generate()
    with pytest.raises(TypeError):
        pickle.dumps(secrets)
    with pytest.raises(TypeError):
        copy.copy(secrets)
    with pytest.raises(TypeError):
        copy.deepcopy(secrets)

"""The secrets of one vMotion: migration id, 256-bit key, 64-bit nonce (row E7).

vCenter makes them per migration from the system's random source, not from a key provider; they travel
in the migration spec to both hosts over TLS (row E8) and live only in memory. The key and the nonce
are held in ``bytearray`` objects so that ``wipe()`` can overwrite them in place when the migration
ends, whatever way it ends.

What Python can promise, and what it cannot: the bytearrays are overwritten, not merely dropped.
But any ``bytes`` object that ever held the key - the protobuf field it arrived in, a copy a caller
made - is immutable: the garbage collector frees it without zeroing it, and the allocator may hand
that memory out again with the key still in it. The same holds for what ``cryptography``'s AESGCM
keeps: it copies the key into its own (OpenSSL / Rust) state when it is built; OpenSSL cleanses its
cipher context when it is freed, which happens once the last reference to the AESGCM object goes.
So: hold the key only here, hand AESGCM this bytearray (never ``bytes(key)``), drop the AESGCM
object when the migration ends, and treat the spec's ``bytes`` as the one copy we cannot scrub.
"""

from __future__ import annotations

import contextlib
import secrets as _random
from typing import Any

from ..model.faults import InvalidArgument

KEY_BYTES = 32          # AES-256
NONCE_BYTES = 8         # the 64-bit migration nonce; sealing.py widens it to GCM's 96 bits


def _random_buffer(size: int) -> bytearray:
    """Random bytes read straight into a bytearray, so that no immutable bytes object ever holds them."""
    buffer = bytearray(size)
    try:
        with open("/dev/urandom", "rb", buffering=0) as source:
            if source.readinto(buffer) == size:
                return buffer
    except OSError:
        pass
    buffer[:] = _random.token_bytes(size)       # no /dev/urandom (Windows): a bytes copy we cannot scrub
    return buffer


class SecretsWiped(RuntimeError):
    """The migration secrets were used after wipe(): the migration they belonged to has ended."""


class MigrationSecrets:
    """What a host needs to seal or open one migration's page stream.

    ``key`` and ``nonce`` are copied into private bytearrays, so the caller may pass the ``bytes``
    of a received spec; the caller's object is not (and cannot be) scrubbed.
    """

    __slots__ = ("_key", "_nonce", "migration_id")

    def __init__(self, migration_id: int, key: bytes | bytearray | memoryview, nonce: bytes | bytearray | memoryview) -> None:
        if not 0 <= migration_id < 1 << 64:
            raise ValueError("migration id must be an unsigned 64-bit integer")
        if len(key) != KEY_BYTES:
            raise ValueError(f"migration key must be {KEY_BYTES} bytes, got {len(key)}")   # never the bytes
        if len(nonce) != NONCE_BYTES:
            raise ValueError(f"migration nonce must be {NONCE_BYTES} bytes, got {len(nonce)}")
        if not any(key):
            raise ValueError("migration key is all zeros: not a key a vCenter made")
        self.migration_id = migration_id
        self._key = bytearray(key)
        self._nonce = bytearray(nonce)

    @classmethod
    def generate(cls, migration_id: int | None = None) -> MigrationSecrets:
        """Fresh secrets for one migration, from the operating system's random source."""
        secrets = cls.__new__(cls)
        secrets.migration_id = _random.randbits(64) if migration_id is None else migration_id
        secrets._key = _random_buffer(KEY_BYTES)
        secrets._nonce = _random_buffer(NONCE_BYTES)
        return secrets

    @property
    def key(self) -> bytearray:
        """The key buffer itself (not a copy): hand it to AESGCM, never to ``bytes()``."""
        self._check_held()
        return self._key

    @property
    def nonce(self) -> int:
        """The 64-bit migration nonce, as the unsigned integer the frame nonces are derived from."""
        self._check_held()
        return int.from_bytes(self._nonce, "big")

    @property
    def nonce_bytes(self) -> bytearray:
        self._check_held()
        return self._nonce

    @property
    def wiped(self) -> bool:
        """True once wipe() ran: key and nonce buffers hold only zeros."""
        return not any(self._key) and not any(self._nonce)

    def wipe(self) -> None:
        """Overwrites key and nonce with zeros, in place. Idempotent."""
        self._key[:] = bytes(KEY_BYTES)
        self._nonce[:] = bytes(NONCE_BYTES)

    def _check_held(self) -> None:
        if self.wiped:
            raise SecretsWiped(f"the secrets of migration {self.migration_id:016x} were wiped: that migration has ended")

    def __repr__(self) -> str:
        state = "wiped" if self.wiped else "held"
        return f"MigrationSecrets(migration_id={self.migration_id:#018x}, key=<{KEY_BYTES * 8}-bit, {state}>)"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("migration secrets are not picklable: keys are never written anywhere")

    def __copy__(self) -> MigrationSecrets:
        raise TypeError("migration secrets are not copied: one object per host, wiped when the migration ends")

    def __deepcopy__(self, memo: Any) -> MigrationSecrets:
        return self.__copy__()

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError):  # construction failed before the buffers existed
            self.wipe()


def secrets_from_wire(migration_id: int, encrypted: bool, key: bytes, nonce: bytes) -> MigrationSecrets | None:
    """The secrets a migration spec carries, checked as they arrive (a fault names the field, never the bytes)."""
    if not encrypted:
        return None
    if len(key) != 32 or len(nonce) != 8:
        raise InvalidArgument("an encrypted migration needs a 32-byte key and an 8-byte nonce", argument="spec.key")
    try:
        return MigrationSecrets(migration_id, key, nonce)
    except ValueError as error:    # e.g. an all-zero key; the message never holds the key's bytes
        raise InvalidArgument(str(error), argument="spec.key") from None

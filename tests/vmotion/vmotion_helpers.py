"""Helpers for the vMotion tests: secrets as the two hosts get them, and a search for key bytes."""

from __future__ import annotations

import mmap

from linkedmode.crypto.secrets import MigrationSecrets


def secrets_pair() -> tuple[MigrationSecrets, MigrationSecrets, bytes]:
    """The source host's secrets, the destination host's copy (as from its spec), and the key to search for."""
    source = MigrationSecrets.generate()
    key = bytes(source.key)
    destination = MigrationSecrets(source.migration_id, key, bytes(source.nonce_bytes))
    return source, destination, key


def find_bytes(root: object, needle: bytes, *, limit: int = 20000) -> list[str]:
    """Paths from ``root`` (through attributes, slots and containers) to any buffer holding ``needle``."""
    found: list[str] = []
    seen: set[int] = set()
    pending: list[tuple[object, str]] = [(root, "root")]
    while pending and len(seen) < limit:
        obj, path = pending.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, bool, str, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (bytes, bytearray)):
            if needle in obj:
                found.append(path)
            continue
        if isinstance(obj, memoryview):
            try:
                if needle in obj.tobytes():
                    found.append(path)
            except ValueError:          # released
                pass
            continue
        if isinstance(obj, mmap.mmap):
            try:
                if obj.find(needle) != -1:
                    found.append(path)
            except ValueError:          # closed
                pass
            continue
        if isinstance(obj, dict):
            pending += [(v, f"{path}[{k!r}]") for k, v in dict(obj).items()]     # a copy: other threads may still write
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            pending += [(v, f"{path}[{i}]") for i, v in enumerate(tuple(obj))]
            continue
        if type(obj).__module__.split(".")[0] not in ("linkedmode", "cryptography"):
            continue            # sockets, threads, locks: no key material of ours lives in them
        for name in tuple(getattr(obj, "__dict__", {})):
            pending.append((getattr(obj, name, None), f"{path}.{name}"))
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if hasattr(obj, name):
                    pending.append((getattr(obj, name, None), f"{path}.{name}"))
    return found

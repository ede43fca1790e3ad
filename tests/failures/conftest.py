"""Every test of this folder also proves the key rule (rows E7, E8): each migration key made during
the test is checked against everything written to SQLite (objects, events, journal, meta), every task
change and every log record, in its raw, hex and base64 forms."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from linkedmode.crypto import secrets as secrets_module
from linkedmode.vcenter.state import VCenterState
from linkedmode.vcenter.store import InventoryStore


def key_forms(key: bytes) -> list[bytes]:
    return [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key)]


@pytest.fixture(autouse=True)
def no_key_is_ever_written(monkeypatch, caplog):
    keys: list[bytes] = []
    written: list[bytes] = []
    generate = secrets_module.MigrationSecrets.generate.__func__

    def recording_generate(cls, migration_id=None):
        made = generate(cls, migration_id)
        keys.append(bytes(made.key))
        return made

    apply = InventoryStore.apply

    def recording_apply(self, put=(), delete=(), events=(), meta=None, journal=(), journal_done=()):
        put, events, journal = list(put), list(events), list(journal)
        written.append(json.dumps([[o.to_row() for o in put], [e.to_row() for e in events], meta or {},
                                   [j.data for j in journal]], default=str).encode())
        return apply(self, put, delete, events, meta, journal, journal_done)

    update = VCenterState.update

    def recording_update(self, *args, tasks=(), **kwargs):
        tasks = list(tasks)
        written.append(repr([(t.result, str(t.error)) for t in tasks]).encode())
        return update(self, *args, tasks=tasks, **kwargs)

    monkeypatch.setattr(secrets_module.MigrationSecrets, "generate", classmethod(recording_generate))
    monkeypatch.setattr(InventoryStore, "apply", recording_apply)
    monkeypatch.setattr(VCenterState, "update", recording_update)
    caplog.set_level(logging.DEBUG)
    yield keys
    everything = b"\n".join(written) + caplog.text.encode()
    for key in keys:
        for form in key_forms(key):
            assert form not in everything, "a migration key was written, posted or logged"

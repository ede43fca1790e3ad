"""Logs as one JSON object per line: every line parses, and a log captured at DEBUG through an
encrypted migration holds no form of its key."""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from estate_helpers import client_of
from migration_estate import migration_estate, to_vc_b

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.logsetup import JsonFormatter, redact
from linkedmode.v1 import common_pb2


def forms(key: bytes) -> list[bytes]:
    """The ways a key could be written down."""
    return [key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key), repr(key).encode()]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield captured
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_json_log_of_an_encrypted_migration_parses_line_by_line_and_holds_no_key(
        json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    keys: list[bytes] = []
    made = MigrationSecrets.generate.__func__   # type: ignore[attr-defined]  # the classmethod's function, to wrap it

    def generate(cls: type[MigrationSecrets], migration_id: int | None = None) -> MigrationSecrets:
        secrets = made(cls, migration_id)
        keys.append(bytes(secrets.key))
        return secrets

    monkeypatch.setattr(MigrationSecrets, "generate", classmethod(generate))
    with migration_estate() as estate:
        client = client_of(estate, "vc-a")
        task = to_vc_b(estate, client, "required")
        failed = to_vc_b(estate, client, "opportunistic", host="b-nowhere")   # a failure logs too
        client.close()
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.migration.encrypted
    assert failed.state == common_pb2.TASK_STATE_ERROR
    assert len(keys) == 1
    text = json_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) > 10                                   # the parts did log at DEBUG
    assert all({"time", "level", "logger", "thread", "message"} <= set(line) for line in lines)
    for key in keys:
        for form in forms(key):
            assert form not in text.encode()


def test_an_exception_is_one_line_too_and_key_like_hex_is_blanked() -> None:
    record = logging.LogRecord("linkedmode.test", logging.ERROR, __file__, 1, "key %s", ("ab" * 32,), None)
    try:
        raise ValueError("boom\nsecond line " + "CD" * 40)
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "key [redacted]" and parsed["level"] == "ERROR"
    assert "ValueError: boom" in parsed["exception"] and "CD" * 40 not in parsed["exception"]
    assert redact("migration 00ff00ff00ff00ff, uuid 4c4c4544-0042") == "migration 00ff00ff00ff00ff, uuid 4c4c4544-0042"

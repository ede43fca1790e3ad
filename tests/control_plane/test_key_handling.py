"""The migration key is never written: not to the journal or the rest of the SQLite file, not to
events, logs or the faults a task ends with, whichever way the migration ends."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_plane_fakes import FakeDestination, FakeParts, wait_until

from linkedmode.migration import settle, source
from linkedmode.migration.arrivals import Arrivals
from linkedmode.migration.settle import Settled
from linkedmode.migration.source import Migrations
from linkedmode.migration.spec import MigrationTarget, RelocateRequest
from linkedmode.model.faults import HostCommunication
from linkedmode.model.migration import MigrationPhase
from linkedmode.model.tasks import Task
from linkedmode.vcenter.tasks import TaskRunner


@pytest.fixture
def on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeParts, Migrations, FakeDestination]]:
    """A vCenter whose state is a SQLite file, relocating to a scripted destination."""
    parts = FakeParts(tmp_path, store=str(tmp_path / "vc-a.db"))
    runner = TaskRunner(parts.state, workers=1)
    destination = FakeDestination()
    monkeypatch.setattr(source, "destination_for", lambda vc, arrivals, request: destination)
    monkeypatch.setattr(settle, "destination_to", lambda vc, arrivals, vcenter: destination)
    yield parts, Migrations(parts.vc, Arrivals(parts.vc), runner), destination
    runner.shutdown()
    parts.close()


def forms(secret: bytes) -> list[bytes]:
    """The ways a key could be written down."""
    return [secret[:32], secret[:32].hex().encode(), secret[:32].hex().upper().encode(), base64.b64encode(secret[:32]),
            secret[32:].hex().encode()]


def written(parts: FakeParts, tmp_path: Path, task: Task, log: str) -> bytes:
    files = b"".join(p.read_bytes() for p in tmp_path.glob("vc-a.db*"))
    events = "\n".join(f"{e.message} {e.arguments}" for e in parts.state.events()).encode()
    fault = f"{task.error} {task.error.arguments}".encode() if task.error else b""
    return files + events + fault + log.encode() + repr(parts.state.journal("outgoing")).encode()


def run(parts: FakeParts, migrations: Migrations) -> Task:
    task = migrations.relocate(parts.vm("vm-hot"), RelocateRequest(MigrationTarget("esx-b1", "ds-b", "cluster-b")), "administrator")
    wait_until(lambda: parts.state.task(task.key).state.done, what="the task's end")
    return parts.state.task(task.key)


@pytest.mark.parametrize("ending", ["moved", "undone", "unsettled then settled"])
def test_the_key_is_never_written(on_disk: tuple[FakeParts, Migrations, FakeDestination], tmp_path: Path,
                                  caplog: pytest.LogCaptureFixture, ending: str) -> None:
    parts, migrations, destination = on_disk
    caplog.set_level(logging.DEBUG)
    parts.hosts.expect_key = True
    if ending == "undone":
        destination.script("commit", HostCommunication("vc-b does not answer"))
    if ending == "unsettled then settled":
        parts.agent("esx-1").fail["complete"] = [HostCommunication("esx-1 does not answer")]
        destination.script("state", HostCommunication("vc-b does not answer"), (MigrationPhase.FINISHED, True))
    task = run(parts, migrations)
    if ending == "unsettled then settled":
        assert len(parts.state.journal("outgoing")) == 1
        assert set(migrations.settle_unsettled("vc-b is back").values()) == {Settled.MOVED}

    (secret,) = parts.agent("esx-1").keys.values()
    everything = written(parts, tmp_path, task, caplog.text)
    assert len(everything) > 10_000                          # the file and the rest were read
    for form in forms(secret):
        assert form not in everything

"""Fixtures for the control plane's unit tests: a fake vCenter's parts, its arrivals, migrations on a
real task runner, and a scripted destination that the source side is given instead of a real one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from control_plane_fakes import FakeDestination, FakeParts

from linkedmode.migration import source
from linkedmode.migration.arrivals import Arrivals
from linkedmode.migration.source import Migrations
from linkedmode.vcenter.tasks import TaskRunner


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[FakeParts]:
    vc = FakeParts(tmp_path)
    yield vc
    vc.close()


@pytest.fixture
def arrivals(parts: FakeParts) -> Arrivals:
    return Arrivals(parts.vc)


@pytest.fixture
def destination(monkeypatch: pytest.MonkeyPatch) -> FakeDestination:
    """The destination every relocate of the test gets, whatever its spec names."""
    fake = FakeDestination()
    monkeypatch.setattr(source, "destination_for", lambda vc, arrivals, request: fake)
    return fake


@pytest.fixture
def migrations(parts: FakeParts, arrivals: Arrivals) -> Iterator[Migrations]:
    runner = TaskRunner(parts.state, workers=2)
    yield Migrations(parts.vc, arrivals, runner)
    runner.shutdown()

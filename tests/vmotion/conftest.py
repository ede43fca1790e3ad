"""Fixtures for the vMotion engine: a destination host's listener on port 0, small VMs, a busy guest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linkedmode.vmotion import GuestMemory, GuestWorkload, VMotionListener
from linkedmode.vmotion.handshake import VMotionLimits


@pytest.fixture
def listener() -> Iterator[VMotionListener]:
    with VMotionListener(idle_timeout_s=5.0, limits=VMotionLimits(hello_seconds=2.0)) as running:
        yield running


@pytest.fixture
def vm() -> Iterator[GuestMemory]:
    """A 16 MB VM with random bytes in half its memory (the other half never touched)."""
    memory = GuestMemory(16)
    memory.fill_random(0.5)
    yield memory
    memory.close()


@pytest.fixture
def busy_guest(vm: GuestMemory) -> Iterator[GuestWorkload]:
    """vCPUs dirtying 10 MB/s over the VM's first 4 MB."""
    workload = GuestWorkload(vm, dirty_rate_mbps=10, working_set_mb=4, seed=7).start()
    yield workload
    workload.stop()

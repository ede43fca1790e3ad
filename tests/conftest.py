"""Shared fixtures: real estates on port 0, and clients that talk to them over mutual TLS."""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import pytest
from estate_helpers import client_of

from linkedmode.client import VCenterClient
from linkedmode.estate import Estate, start_estate
from linkedmode.topology import default_topology


@pytest.fixture
def estate() -> Estate:
    """The built-in default topology, every part on its own port, state in memory."""
    with start_estate(default_topology()) as running:
        yield running


@pytest.fixture
def vc_a(estate: Estate) -> VCenterClient:
    client = client_of(estate, "vc-a")
    yield client
    client.close()

"""Fixtures of the robustness tests: one estate per module, a channel to each service as a caller it
lets in, and a watch on threads that die of an exception (a bad request must not kill one quietly)."""

from __future__ import annotations

import threading

import grpc
import pytest

from linkedmode.client import connect_host, connect_vcenter
from linkedmode.estate import Estate, start_estate
from linkedmode.topology import default_topology


@pytest.fixture(scope="module")
def estate() -> Estate:
    """The built-in default topology, as the top-level `estate`, but one per module: bad requests leave it
    as it was, and a fuzzer sends thousands of them."""
    with start_estate(default_topology()) as running:
        yield running


@pytest.fixture(scope="module")
def channels(estate: Estate) -> dict[str, grpc.Channel]:
    """Service name -> a channel to vc-a (or its host esx-a1) with an identity that service lets in."""
    vc_a = estate.vcenters["vc-a"].address
    admin = connect_vcenter(vc_a, estate.credential("vsphere.local", "user", "administrator"), "vc-a").channel
    peer = connect_vcenter(vc_a, estate.credential("vsphere.local", "vcenter", "vc-b"), "vc-a").channel
    host = connect_host(estate.hosts["esx-a1"].address, estate.credential("vsphere.local", "vcenter", "vc-a"), "esx-a1")
    yield {"linkedmode.v1.VCenter": admin, "linkedmode.v1.Emulator": admin, "linkedmode.v1.LinkedMode": peer,
           "linkedmode.v1.HostAgent": host}
    for channel in (admin, peer, host):
        channel.close()


@pytest.fixture(autouse=True)
def no_thread_dies():
    """Fails a test during which a thread ended with an exception (a guest's vCPU, a migration's)."""
    died: list[str] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: died.append(
        f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: {args.exc_value}")
    try:
        yield
    finally:
        threading.excepthook = previous
    assert not died, f"threads died: {died}"

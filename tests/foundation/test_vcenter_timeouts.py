"""A vCenter's waits outside migrations come from its topology's `timeouts` too: it links with its peers
at start within `peer_hello` (a peer that takes the connection and never answers is given up on after
that long, and the others still link), and a user's session ends after `session_idle` without a call."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from migration_estate import migration_estate

from linkedmode.crypto.identity import Identity


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """A loopback address that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, name="silent-peer")
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for conn in held:
            conn.close()


def test_a_peer_that_never_answers_hello_is_given_up_on_after_peer_hello(tmp_path, silent_peer: str,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    with migration_estate(tmp_path, vcenter_timeouts={"peer_hello": 0.5}) as estate:
        server = estate.vcenters["vc-a"]
        assert server.vcenter.timeouts.peer_hello == 0.5
        peers = {**estate.peer_addresses(server.domain.name), "vc-silent": silent_peer}
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="linkedmode.vcenter.server"):
            answered = server.link(peers)
        took = time.monotonic() - started

    assert set(answered) == set(peers) - {"vc-a", "vc-silent"} and "vc-b" in answered
    assert 0.4 < took < 4.0              # its own limit, not the 5 s default
    assert any("vc-a could not link with vc-silent" in r.getMessage() for r in caplog.records)


def test_a_session_lasts_the_vcenters_session_idle(tmp_path) -> None:
    with migration_estate(tmp_path, vcenter_timeouts={"session_idle": 42}) as estate:
        session = estate.vcenters["vc-a"].sessions.open(Identity("vsphere.local", "user", "administrator"))
        assert session.idle_seconds == 42


def test_a_session_lasts_thirty_minutes_by_default(tmp_path) -> None:
    with migration_estate(tmp_path) as estate:
        session = estate.vcenters["vc-a"].sessions.open(Identity("vsphere.local", "user", "administrator"))
        assert session.idle_seconds == 1800

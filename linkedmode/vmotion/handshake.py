"""The vMotion listener's first stage: connections that have not shown a valid HELLO yet.

Anyone on the vMotion network can connect, so until a connection's HELLO names a migration this host
was prepared for (and, encrypted, opens under its key) it costs next to nothing: one small buffer in a
single selector thread, no thread of its own, no large socket buffers. Two caps bound what a flood can
take, the connections waiting for a HELLO and those from one source address (an IPv6 source counts by
its /64, which one machine can fill with addresses), and a connection must deliver its whole HELLO by
an absolute deadline (a peer sending a byte every few seconds is dropped all the same). A connection
beyond the per-source cap is closed as soon as it is accepted. When every slot is taken, a newcomer
from a source holding fewer of them than the busiest (by two or more) takes the place of that
source's oldest connection: a flood from a few addresses cannot keep a migration's source out.

A complete HELLO goes to ``admit``, which either takes the connection (the listener then gives it a
thread and a full-size buffer) or answers with the AbortCode to refuse it with.

The thread sleeps until a connection or a deadline needs it: the next HELLO deadline, or the time
``tick`` asks to run again (``wake`` when that time moves earlier). An idle host's stage never wakes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..crypto.sealing import TAG_BYTES
from ..model.faults import Fault
from .abort_codes import AbortCode, abort_payload
from .frames import ABORT_PAYLOAD, HEADER_SIZE, HELLO, FrameHeader, FrameKind, decode_header

log = logging.getLogger(__name__)

_TICK_RETRY_S = 1.0               # a ``tick`` that failed is tried again this much later
_LINGER_S = 0.5                   # a refused peer gets this long to read our ABORT before the close
_MAX_HELLO = HEADER_SIZE + HELLO.size + TAG_BYTES     # a HELLO's header and payload, sealed or not
_DRAIN_READS = 16                 # of _SINK_BYTES each, per wake-up, from a refused peer
_SINK_BYTES = 64 << 10


@dataclass(frozen=True)
class VMotionLimits:
    """What the vMotion listener allows before authentication (a host's ``limits`` in the topology)."""

    unauthenticated_connections: int = 64    # connections waiting for their HELLO, from everywhere
    connections_per_source: int = 8          # of those, from one source address (an IPv6 /64)
    hello_seconds: float = 5.0               # from accept to a complete HELLO


def source_of(address: str) -> str:
    """What the per-source cap counts: an IPv4 address, or an IPv6 address's /64 (one machine's share)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# Takes a connection whose HELLO is complete (header, raw header bytes, payload as received): returns
# None once the connection is the caller's, or the code to refuse it with.
Admit = Callable[[socket.socket, FrameHeader, bytes, bytes], AbortCode | None]
# Runs the owner's timed work at a time (time.monotonic()); returns when it must run next (None: not
# until `wake` says so).
Tick = Callable[[float], float | None]


class _Pending:
    """One connection before authentication: what it sent so far, and until when it may send it."""

    __slots__ = ("buffer", "closing", "deadline", "received", "source")

    def __init__(self, source: str, deadline: float) -> None:
        self.source = source
        self.deadline = deadline
        self.buffer = bytearray(_MAX_HELLO)
        self.received = 0
        self.closing = False      # refused: our ABORT went out, waiting for the peer to hang up


class HandshakeStage:
    """Accepts on ``server`` and holds each connection until its HELLO is complete, within the limits."""

    def __init__(self, server: socket.socket, limits: VMotionLimits, admit: Admit, tick: Tick) -> None:
        self.limits = limits
        self._server = server
        self._admit = admit
        self._tick = tick
        self._next_tick: float | None = None
        self._pending: dict[socket.socket, _Pending] = {}
        self._per_source: dict[str, int] = {}
        self._lock = threading.Lock()
        self.refused = 0              # every connection refused: over a cap, late, or a HELLO not taken
        self.over_limit = 0           # closed at accept: a cap was reached
        self.late = 0                 # closed at the HELLO deadline
        self.evicted = 0              # closed to make room for a connection from a less busy source
        self._closed = threading.Event()
        self._sink = bytearray(_SINK_BYTES)          # one, shared: what refused peers send is thrown away
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        server.setblocking(False)
        self._selector.register(server, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="vmotion-handshake", daemon=True)
        self._thread.start()

    @property
    def unauthenticated(self) -> int:
        """Connections held now, waiting for a HELLO or closing after a refusal."""
        with self._lock:
            return len(self._pending)

    def wake(self) -> None:
        """Runs ``tick`` now (from any thread), so that it can say when it must run next."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def close(self) -> None:
        self._closed.set()
        self.wake()
        self._thread.join()
        for conn in list(self._pending):
            self._drop(conn)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # --- the selector thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed.is_set():
            woken = False
            for key, _ in self._selector.select(self._wait(time.monotonic())):
                if key.fileobj is self._server:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    woken = True
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    self._read(key.fileobj)  # type: ignore[arg-type]  # registered connections are sockets
            now = time.monotonic()
            self._expire(now)
            if woken or (self._next_tick is not None and now >= self._next_tick):
                try:
                    self._next_tick = self._tick(now)
                except Exception:
                    log.exception("vMotion listener: periodic check failed")
                    self._next_tick = now + _TICK_RETRY_S

    def _wait(self, now: float) -> float | None:
        """Seconds until the next deadline (a HELLO's, or the tick's); None: none, wait for a connection."""
        deadlines = [p.deadline for p in self._pending.values()]
        if self._next_tick is not None:
            deadlines.append(self._next_tick)
        return max(0.0, min(deadlines) - now) if deadlines else None

    def _accept(self) -> None:
        while True:
            try:
                conn, address = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return                       # the listener is closing
            source = source_of(str(address[0]))
            victim = None
            with self._lock:
                over = self._per_source.get(source, 0) >= self.limits.connections_per_source
                if not over and len(self._pending) >= self.limits.unauthenticated_connections:
                    victim = self._victim(source)
                    over = victim is None
                if over:
                    self.refused += 1
                    self.over_limit += 1
                else:
                    self._pending[conn] = _Pending(source, time.monotonic() + self.limits.hello_seconds)
                    self._per_source[source] = self._per_source.get(source, 0) + 1
                if victim is not None:
                    self.refused += 1
                    self.evicted += 1
            if victim is not None:
                log.debug("vMotion listener: every unauthenticated slot taken; one of %s's gave way to %s",
                          self._pending[victim].source or "a refused peer", source)
                self._drop(victim)
            if over:
                log.debug("vMotion listener: over the limit of unauthenticated connections; closed one from %s", source)
                conn.close()
                continue
            conn.setblocking(False)
            self._selector.register(conn, selectors.EVENT_READ)

    def _victim(self, source: str) -> socket.socket | None:
        """With every slot taken (lock held), the connection that makes room for one from ``source``: one
        already refused, else the oldest of the source holding the most slots, if it holds at least two
        more than ``source`` (else the newcomer is the one refused)."""
        for conn, pending in self._pending.items():
            if pending.closing:
                return conn
        busiest = max(self._per_source, key=self._per_source.__getitem__, default=None)
        if busiest is None or self._per_source[busiest] < self._per_source.get(source, 0) + 2:
            return None
        return next(conn for conn, pending in self._pending.items() if pending.source == busiest)

    def _read(self, conn: socket.socket) -> None:
        pending = self._pending.get(conn)
        if pending is None:
            return
        if pending.closing:
            self._drain(conn)
            return
        need = HEADER_SIZE if pending.received < HEADER_SIZE else self._frame_size(pending)
        try:
            received = conn.recv_into(memoryview(pending.buffer)[pending.received:need])
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            received = 0
        if not received:
            self._refuse(conn, None, "the peer closed the connection before its HELLO")
            return
        pending.received += received
        if pending.received < HEADER_SIZE:
            return
        raw = bytes(pending.buffer[:HEADER_SIZE])
        try:
            header = decode_header(raw)
        except Fault as fault:
            self._refuse(conn, None, f"no valid HELLO ({fault.message})")
            return
        if header.kind is not FrameKind.HELLO or header.sequence != 0:
            self._refuse(conn, header, f"the first frame was {header.kind.name} {header.sequence}, not HELLO 0",
                         AbortCode.BAD_HELLO)
            return
        if pending.received < HEADER_SIZE + header.payload_length:
            return
        payload = bytes(pending.buffer[HEADER_SIZE:pending.received])
        self._take(conn, header, raw, payload)

    @staticmethod
    def _frame_size(pending: _Pending) -> int:
        return HEADER_SIZE + decode_header(pending.buffer[:HEADER_SIZE]).payload_length

    def _take(self, conn: socket.socket, header: FrameHeader, raw: bytes, payload: bytes) -> None:
        self._selector.unregister(conn)
        self._forget(conn)
        conn.setblocking(True)
        try:
            code = self._admit(conn, header, raw, payload)
        except Exception:
            log.exception("vMotion listener: admitting a connection failed")
            code = AbortCode.INTERNAL
        if code is not None:
            self._reclaim(conn)
            self._refuse(conn, header, f"HELLO refused ({code.name.lower()})", code)

    def _refuse(self, conn: socket.socket, header: FrameHeader | None, why: str, code: AbortCode | None = None) -> None:
        """Counts and logs a refusal, sends the ABORT ``code`` if there is one, and half-closes: the peer
        gets a moment to read what we sent (a close with its bytes unread would reset the connection)."""
        with self._lock:
            self.refused += 1
        log.warning("refused a vMotion connection: %s", why)
        pending = self._pending.get(conn)
        if pending is None:
            self._drop(conn)
            return
        try:
            if code is not None and header is not None:
                abort = FrameHeader(FrameKind.ABORT, False, header.migration_id, 0, ABORT_PAYLOAD.size).pack()
                conn.send(abort + abort_payload(code))
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)
            return
        pending.closing = True
        pending.deadline = min(pending.deadline, time.monotonic() + _LINGER_S)

    def _drain(self, conn: socket.socket) -> None:
        """Discards what a refused peer still sends (a few reads per wake-up, so one cannot hog the thread)."""
        for _ in range(_DRAIN_READS):
            try:
                if not conn.recv_into(self._sink):
                    break
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                break
        else:
            return
        self._drop(conn)

    def _expire(self, now: float) -> None:
        for conn, pending in list(self._pending.items()):
            if now > pending.deadline:
                if not pending.closing:
                    with self._lock:
                        self.refused += 1
                        self.late += 1
                    log.warning("vMotion listener: no complete HELLO from %s within %g s; closed",
                                pending.source, self.limits.hello_seconds)
                self._drop(conn)

    # --- bookkeeping ------------------------------------------------------------------------------

    def _reclaim(self, conn: socket.socket) -> None:
        """A connection handed to ``admit`` and given back: held again (it still counts) until it closes."""
        conn.setblocking(False)
        with self._lock:
            self._pending[conn] = _Pending("", time.monotonic() + _LINGER_S)
        self._selector.register(conn, selectors.EVENT_READ)

    def _forget(self, conn: socket.socket) -> None:
        with self._lock:
            pending = self._pending.pop(conn, None)
            if pending is not None and pending.source:
                left = self._per_source[pending.source] - 1
                if left:
                    self._per_source[pending.source] = left
                else:
                    del self._per_source[pending.source]

    def _drop(self, conn: socket.socket) -> None:
        if conn in self._pending:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(conn)
            self._forget(conn)
        conn.close()

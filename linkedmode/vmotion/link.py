"""Distance on a vMotion link, without root: a relay the source host puts on its own page stream that
holds every byte for half a round-trip time in each direction and lets it out no faster than the
link's rate (row V6: long-distance vMotion up to 150 ms RTT).

Each direction is a delay line: a reader thread takes what the sender writes and stamps it with the
time it may leave; a writer thread sends it then, paced at the rate, so the link carries at most its
rate and every answer (ACK, resume) comes back a whole RTT after the frame that asked for it. The
line holds about one bandwidth-delay product (what is "on the wire") and no more: past it the sender
waits, as TCP's window would make it.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from typing import Protocol

from .stream import tune_socket

CHUNK_BYTES = 64 << 10          # pacing granularity
MIN_IN_FLIGHT = 4 << 20         # the least the line holds (a short or unlimited link)
UNLIMITED_IN_FLIGHT = 64 << 20  # what it holds when only the RTT is shaped


class Relay(Protocol):
    """Something a source host dials instead of the destination's vMotion address."""

    @property
    def address(self) -> tuple[str, int]: ...

    def close(self) -> None: ...


class _DelayLine:
    """One direction: bytes from `source` reach `sink` `delay_s` later, at most `rate` bytes a second."""

    def __init__(self, source: socket.socket, sink: socket.socket, delay_s: float, rate: float, name: str) -> None:
        self._source = source
        self._sink = sink
        self._delay = delay_s
        self._rate = rate
        bdp = rate * 2 * delay_s if rate else 0.0
        self._capacity = max(MIN_IN_FLIGHT, int(bdp * 1.25)) if rate else UNLIMITED_IN_FLIGHT
        self._queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self._queued = 0
        self._ended = False
        self._cond = threading.Condition()
        self.threads = [threading.Thread(target=self._read, name=f"{name}-in", daemon=True),
                        threading.Thread(target=self._write, name=f"{name}-out", daemon=True)]
        for thread in self.threads:
            thread.start()

    def _read(self) -> None:
        try:
            while data := self._source.recv(CHUNK_BYTES):
                with self._cond:
                    while self._queued >= self._capacity and not self._ended:
                        self._cond.wait()
                    if self._ended:
                        return
                    self._queue.append((time.monotonic() + self._delay, data))
                    self._queued += len(data)
                    self._cond.notify_all()
        except OSError:
            pass
        with self._cond:
            self._queue.append((time.monotonic() + self._delay, b""))    # the end crosses late too
            self._cond.notify_all()

    def _write(self) -> None:
        free_at = time.monotonic()      # when the link has sent what it was given before
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._ended:
                        self._cond.wait()
                    if self._ended:
                        return
                    due, data = self._queue[0]
                start = max(due, free_at)
                wait = start - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    self._sink.shutdown(socket.SHUT_WR)
                    return
                self._sink.sendall(data)
                if self._rate:
                    free_at = start + len(data) / self._rate
                with self._cond:
                    self._queue.popleft()
                    self._queued -= len(data)
                    self._cond.notify_all()
        except OSError:
            self.end()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()


class ShapedLink:
    """Listens on loopback and relays each connection to `target` across a link of `rtt_s` round-trip
    time and `rate` bytes a second in each direction (0: as fast as the machine goes)."""

    def __init__(self, target: tuple[str, int], rtt_s: float, rate: float) -> None:
        self.target = target
        self.rtt_s = rtt_s
        self.rate = rate
        self._server = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._lines: list[_DelayLine] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="vmotion-link", daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return host, port

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self._server.accept()
            except OSError:
                return      # closed
            try:
                far = socket.create_connection(self.target, timeout=10)
                far.settimeout(None)
            except OSError:
                near.close()    # the source sees the connection fail, as it would the destination's
                continue
            for sock in (near, far):
                tune_socket(sock)
            with self._lock:
                if self._closed:
                    near.close()
                    far.close()
                    return
                self._sockets += [near, far]
                self._lines += [_DelayLine(near, far, self.rtt_s / 2, self.rate, "vmotion-link-out"),
                                _DelayLine(far, near, self.rtt_s / 2, self.rate, "vmotion-link-back")]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            lines, sockets = list(self._lines), list(self._sockets)
        self._server.close()
        for line in lines:
            line.end()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

"""A man in the middle on the vMotion network, for tests: forwards one migration's TCP stream, tapping it
and, if told to, tampering with one frame on its way from the source to the destination."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

from linkedmode.vmotion.frames import HEADER_SIZE, FrameKind, decode_header
from linkedmode.vmotion.tamper_relay import recv_exact


@dataclass(frozen=True)
class Tamper:
    """What to do to the ``nth`` (from 0) source frame of ``kind``.

    replay: forward it twice; reorder: forward the next frame first; drop: swallow it;
    flip_payload: flip one bit in the payload; flip_header: relabel a PAGES frame as DISK in its header
    (the associated data of its seal: only the header fields framing needs are in the clear);
    replace: forward ``replacement`` (raw frame bytes) instead; cut: swallow it and cut the link both ways.
    """

    action: str
    kind: FrameKind = FrameKind.PAGES
    nth: int = 2
    replacement: bytes = b""


_KIND_OFFSET = 5                               # magic 4s, version u8, kind u8


class VMotionProxy:
    """Listens on port 0, relays to ``target``; records every source frame (raw) and byte counts."""

    def __init__(self, target: tuple[str, int], tamper: Tamper | None = None) -> None:
        self.target = target
        self.tamper = tamper
        self.frames: list[bytes] = []          # source -> destination, as received from the source
        self.captured = bytearray()            # source -> destination, as forwarded
        self.returned = bytearray()            # destination -> source, as forwarded
        self.tampered = False
        self._seen = 0
        self._held: bytes | None = None
        self._server = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accept = threading.Thread(target=self._run, daemon=True)
        self._accept.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._server.getsockname()[:2]

    @property
    def bytes_forwarded(self) -> int:
        return len(self.captured)

    def close(self) -> None:
        self._server.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)        # wakes the relay threads; close() alone would not
        for thread in self._threads:
            thread.join(5)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> VMotionProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            source, _ = self._server.accept()
        except OSError:
            return
        destination = socket.create_connection(self.target)
        self._sockets += [source, destination]
        for target, args in ((self._upstream, (source, destination)), (self._downstream, (destination, source))):
            thread = threading.Thread(target=target, args=args, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _downstream(self, destination: socket.socket, source: socket.socket) -> None:
        try:
            while data := destination.recv(1 << 16):
                self.returned += data
                source.sendall(data)
        except OSError:
            pass
        _shutdown(source)

    def _upstream(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while True:
                header = recv_exact(source, HEADER_SIZE)
                if header is None:
                    break
                payload = recv_exact(source, decode_header(header).payload_length) or b""
                frame = header + payload
                self.frames.append(frame)
                for out in self._apply(frame):
                    self.captured += out
                    destination.sendall(out)
                if self.tampered and self.tamper is not None and self.tamper.action == "cut":
                    _shutdown(destination)
                    source.shutdown(socket.SHUT_RDWR)
                    break
        except OSError:
            pass
        _shutdown(destination)

    def _apply(self, frame: bytes) -> list[bytes]:
        if self._held is not None:                    # reorder: the held frame goes after this one
            held, self._held = self._held, None
            return [frame, held]
        rule = self.tamper
        if rule is None or self.tampered or decode_header(frame[:HEADER_SIZE]).kind is not rule.kind:
            return [frame]
        self._seen += 1
        if self._seen - 1 != rule.nth:
            return [frame]
        self.tampered = True
        if rule.action == "replay":
            return [frame, frame]
        if rule.action == "reorder":
            self._held = frame
            return []
        if rule.action in ("drop", "cut"):
            return []
        if rule.action == "replace":
            return [rule.replacement]
        altered = bytearray(frame)
        if rule.action == "flip_payload":
            altered[HEADER_SIZE + (len(frame) - HEADER_SIZE) // 2] ^= 0x10
        elif rule.action == "flip_header":
            altered[_KIND_OFFSET] = FrameKind.DISK if altered[_KIND_OFFSET] == FrameKind.PAGES else FrameKind.PAGES
        else:
            raise ValueError(f"unknown tamper action {rule.action!r}")
        return [bytes(altered)]


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)

"""A relay a source host puts on its own vMotion path when a fault rule says to corrupt or replay a
frame: what a man in the middle would do, on demand, to show what the receiver makes of it."""

from __future__ import annotations

import contextlib
import socket
import threading

from .frames import HEADER_SIZE, FrameKind, decode_header

TAMPER_ACTIONS = ("corrupt_frame", "replay_frame")
NTH_PAGES_FRAME = 0   # the first PAGES frame: every hot migration of a guest that wrote memory has one


class TamperRelay:
    """Listens on loopback, relays one connection to `target`, tampers with one PAGES frame."""

    def __init__(self, target: tuple[str, int], action: str) -> None:
        if action not in TAMPER_ACTIONS:
            raise ValueError(f"unknown tamper action {action!r}")
        self.target = target
        self.action = action
        self.tampered = False
        self._pages_seen = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._run, name="vmotion-tamper", daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return host, port

    def close(self) -> None:
        self._server.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _run(self) -> None:
        try:
            source, _ = self._server.accept()
            destination = socket.create_connection(self.target)
        except OSError:
            return
        self._sockets += [source, destination]
        threading.Thread(target=self._pipe, args=(destination, source), daemon=True).start()
        self._upstream(source, destination)

    @staticmethod
    def _pipe(frm: socket.socket, to: socket.socket) -> None:
        try:
            while data := frm.recv(1 << 16):
                to.sendall(data)
            to.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _upstream(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while (header := recv_exact(source, HEADER_SIZE)) is not None:
                payload = recv_exact(source, decode_header(header).payload_length) or b""
                for frame in self._apply(header + payload):
                    destination.sendall(frame)
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _apply(self, frame: bytes) -> list[bytes]:
        if self.tampered or decode_header(frame[:HEADER_SIZE]).kind is not FrameKind.PAGES:
            return [frame]
        self._pages_seen += 1
        if self._pages_seen - 1 != NTH_PAGES_FRAME:
            return [frame]
        self.tampered = True
        if self.action == "replay_frame":
            return [frame, frame]
        altered = bytearray(frame)
        altered[HEADER_SIZE + (len(frame) - HEADER_SIZE) // 2] ^= 0x10
        return [bytes(altered)]


def recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """Exactly `size` bytes, or None at the end of the stream."""
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return bytes(data)

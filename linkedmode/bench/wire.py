"""gRPC unary calls framed straight onto HTTP/2 over mutual TLS: a client whose own cost is small.

The call benchmark runs its load on the machine it measures. grpc's Python client spent about 0.48 ms
of CPU a call, as much as the server being measured, so the two cores ran out before the server did.
This client writes the frames itself, as h2load and ghz do (about 0.13 ms a call), and speaks the
part of HTTP/2 (RFC 9113) that unary calls need: the preface and SETTINGS, one HEADERS and one DATA frame a
call, the answer's HEADERS, DATA and trailers, PING and SETTINGS acknowledged, flow control, GOAWAY
and RST_STREAM reported. Header blocks are decoded with `hpack` (RFC 7541, Huffman codes included);
the client announces a header table of 0 bytes, so every block stands alone and a block seen before is
not decoded again.

A connection is a non-blocking TLS socket with its own buffers, driven by the caller's selector:
`send_call` queues a call, `receive` reads what arrived and returns the calls it completed.
"""

from __future__ import annotations

import socket
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path

import grpc
import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_HEADER_TABLE_SIZE, SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW_SIZE = 0x1, 0x2, 0x4
MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65_535
READ_SIZE = 256 * 1024
MEMO_BLOCKS = 256        # header blocks kept decoded (an answer's headers and trailers are a few)

STATUS_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class WireError(Exception):
    """The connection cannot go on: closed, refused by the server (GOAWAY), or a frame out of protocol."""


@dataclass(frozen=True)
class Answer:
    stream: int
    status: int            # the call's grpc-status (0: OK)
    message: bytes         # the answer's message, without gRPC's 5-byte prefix ("" when none came)
    detail: str            # grpc-message, or what ended the stream

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, f"STATUS_{self.status}")


def _integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 5.1) whose prefix shares its byte with `first`."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = [first | limit]
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(text: bytes) -> bytes:
    return _integer(len(text), 7) + text      # not Huffman-coded


# Static table indexes (RFC 7541 appendix A) of what every call sends.
_METHOD_POST, _SCHEME_HTTPS, _AUTHORITY, _PATH, _CONTENT_TYPE, _USER_AGENT = 3, 7, 1, 4, 31, 58


def request_headers(path: str, authority: str, user_agent: str = "linkedmode-bench") -> bytes:
    """The header block of a unary call to `path` ("/package.Service/Method"): literals never indexed,
    so the same bytes serve every call on every connection."""
    def literal(index: int, value: str) -> bytes:
        return _integer(index, 4) + _string(value.encode())     # literal without indexing, name by index

    return (bytes((0x80 | _METHOD_POST, 0x80 | _SCHEME_HTTPS)) + literal(_PATH, path) + literal(_AUTHORITY, authority)
            + literal(_CONTENT_TYPE, "application/grpc") + literal(_USER_AGENT, user_agent)
            + b"\x00" + _string(b"te") + _string(b"trailers"))


def grpc_message(serialized: bytes) -> bytes:
    """A request message as gRPC frames it: uncompressed flag, 4-byte length, the message."""
    return b"\x00" + struct.pack(">I", len(serialized)) + serialized


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream) + payload


@dataclass(frozen=True)
class TlsFiles:
    cert: Path        # the client's certificate (PEM)
    key: Path         # its private key
    ca: Path          # the CA the server's certificate must chain to


def tls_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(files.ca))
    context.load_cert_chain(str(files.cert), str(files.key))
    context.set_alpn_protocols(["h2"])
    return context


class WireConnection:
    """One HTTP/2 connection carrying unary gRPC calls."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._next_stream = 1
        self._send_window = DEFAULT_WINDOW     # the server's connection window for what this client sends
        self._waiting: list[tuple[bytes, bytes]] = []   # calls held until the server's window opens
        self._received = 0                      # DATA bytes since this client last opened its own window
        self._decoder = hpack.Decoder()
        self._decoded: dict[bytes, dict[bytes, bytes]] = {}
        self._bodies: dict[int, bytearray] = {}
        self._headers: dict[int, dict[bytes, bytes]] = {}
        self._continued: tuple[int, int, bytearray] | None = None   # (stream, flags, block) until END_HEADERS

    @classmethod
    def open(cls, address: str, context: ssl.SSLContext, server_name: str, timeout: float) -> WireConnection:
        """Connects, shakes hands (ALPN h2, the client's certificate), sends the preface and this client's
        settings, and leaves the socket non-blocking."""
        host, _, port = address.rpartition(":")
        raw = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = context.wrap_socket(raw, server_hostname=server_name)
        except BaseException:
            raw.close()
            raise
        if sock.selected_alpn_protocol() != "h2":
            sock.close()
            raise WireError(f"{address} did not agree to HTTP/2 (ALPN {sock.selected_alpn_protocol()!r})")
        settings = b"".join(struct.pack(">HI", key, value) for key, value in (
            (SETTINGS_HEADER_TABLE_SIZE, 0), (SETTINGS_ENABLE_PUSH, 0), (SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW)))
        sock.sendall(PREFACE + _frame(SETTINGS, 0, 0, settings)
                     + _frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - DEFAULT_WINDOW)))
        sock.setblocking(False)
        return cls(sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def send_call(self, headers: bytes, message: bytes) -> int:
        """Queues a unary call (a header block from `request_headers`, a message from `grpc_message`) and
        writes what the socket takes. Returns the call's stream."""
        stream = self._next_stream
        self._next_stream += 2
        self._waiting.append((_frame(HEADERS, END_HEADERS, stream, headers), _frame(DATA, END_STREAM, stream, message)))
        self._bodies[stream] = bytearray()
        self._release_waiting()
        return stream

    def wants_to_write(self) -> bool:
        return bool(self._outbox)

    def flush(self) -> None:
        while self._outbox:
            try:
                sent = self.sock.send(self._outbox)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return
            except OSError as error:
                raise WireError(f"the connection failed while sending: {error}") from None
            del self._outbox[:sent]

    def receive(self) -> list[Answer]:
        """Reads what arrived and returns the calls it completed."""
        while True:
            try:
                data = self.sock.recv(READ_SIZE)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break
            except OSError as error:
                raise WireError(f"the connection failed: {error}") from None
            if not data:
                raise WireError("the server closed the connection")
            self._inbox += data
        answers = self._frames()
        self.flush()
        return answers

    def _release_waiting(self) -> None:
        while self._waiting:
            headers, data = self._waiting[0]
            if len(data) - 9 > self._send_window:
                break
            self._send_window -= len(data) - 9
            self._outbox += headers + data
            del self._waiting[0]
        self.flush()

    def _frames(self) -> list[Answer]:
        answers: list[Answer] = []
        inbox, at = self._inbox, 0
        while len(inbox) - at >= 9:
            length = int.from_bytes(inbox[at:at + 3], "big")
            end = at + 9 + length
            if len(inbox) < end:
                break
            kind, flags = inbox[at + 3], inbox[at + 4]
            stream = int.from_bytes(inbox[at + 5:at + 9], "big") & 0x7FFFFFFF
            payload = bytes(inbox[at + 9:end])
            at = end
            answer = self._frame_arrived(kind, flags, stream, payload)
            if answer is not None:
                answers.append(answer)
        del inbox[:at]
        return answers

    def _frame_arrived(self, kind: int, flags: int, stream: int, payload: bytes) -> Answer | None:
        if self._continued is not None and kind != CONTINUATION:
            raise WireError(f"frame type {kind} inside a header block")
        if kind == DATA:
            self._data_arrived(stream, _unpadded(flags, payload), len(payload))
        elif kind == HEADERS:
            block = _unpadded(flags, payload)
            if flags & PRIORITY_FLAG:
                block = block[5:]
            if not flags & END_HEADERS:
                self._continued = (stream, flags, bytearray(block))
                return None
            return self._headers_arrived(stream, flags, block)
        elif kind == CONTINUATION:
            if self._continued is None or self._continued[0] != stream:
                raise WireError("CONTINUATION without its HEADERS")
            self._continued[2].extend(payload)
            if flags & END_HEADERS:
                stream, first_flags, gathered = self._continued
                self._continued = None
                return self._headers_arrived(stream, first_flags, bytes(gathered))
        elif kind == RST_STREAM:
            code = int.from_bytes(payload[:4], "big")
            return self._ended(stream, grpc.StatusCode.UNAVAILABLE.value[0], f"the server reset the stream (HTTP/2 error {code})")
        elif kind == SETTINGS and not flags & ACK:
            self._outbox += _frame(SETTINGS, ACK, 0)
        elif kind == PING and not flags & ACK:
            self._outbox += _frame(PING, ACK, 0, payload)
        elif kind == WINDOW_UPDATE and stream == 0:
            self._send_window += int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            self._release_waiting()
        elif kind == GOAWAY:
            code = int.from_bytes(payload[4:8], "big")
            raise WireError(f"the server ended the connection (GOAWAY, HTTP/2 error {code}: "
                            f"{payload[8:].decode(errors='replace') or 'no detail'})")
        elif kind == PUSH_PROMISE:
            raise WireError("the server pushed a stream, which this client refused")
        return None

    def _data_arrived(self, stream: int, data: bytes, counted: int) -> None:
        body = self._bodies.get(stream)
        if body is not None:
            body += data
        self._received += counted
        if self._received > MAX_WINDOW // 2:       # give the connection its window back, in one update
            self._outbox += _frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", self._received))
            self._received = 0

    def _headers_arrived(self, stream: int, flags: int, block: bytes) -> Answer | None:
        headers = self._decode(block)
        if not flags & END_STREAM:
            if headers.get(b":status", b"200") != b"200":
                return self._ended(stream, grpc.StatusCode.UNKNOWN.value[0], f"HTTP status {headers[b':status'].decode()}")
            self._headers[stream] = headers
            return None
        headers = {**self._headers.pop(stream, {}), **headers}
        status = headers.get(b"grpc-status")
        if status is None:
            return self._ended(stream, grpc.StatusCode.UNKNOWN.value[0], "the answer ended without grpc-status")
        return self._ended(stream, int(status), headers.get(b"grpc-message", b"").decode(errors="replace"))

    def _ended(self, stream: int, status: int, detail: str) -> Answer | None:
        body = self._bodies.pop(stream, None)
        self._headers.pop(stream, None)
        if body is None:
            return None        # a stream this client did not open, or one already ended
        return Answer(stream, status, bytes(body[5:]), detail)

    def _decode(self, block: bytes) -> dict[bytes, bytes]:
        """A header block's fields. With a table of 0 bytes a block means the same each time it comes."""
        headers = self._decoded.get(block)
        if headers is None:
            try:
                headers = dict(self._decoder.decode(block, raw=True))
            except hpack.HPACKError as error:
                raise WireError(f"a header block could not be decoded: {error}") from None
            if not self._decoder.header_table.dynamic_entries and len(self._decoded) < MEMO_BLOCKS:
                self._decoded[block] = headers
        return headers


def _unpadded(flags: int, payload: bytes) -> bytes:
    if not flags & PADDED:
        return payload
    pad = payload[0]
    return payload[1:len(payload) - pad]

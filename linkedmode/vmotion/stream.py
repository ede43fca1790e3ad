"""One direction of a page stream over a TCP socket: numbering, sealing, batching; order and seal checks.

No TLS here, as on a real vMotion network: an encrypted migration's secrecy and authenticity come
from the migration key alone (sealing.py); a plaintext migration sends the same frames unsealed.

Hot path: the writer hands ``sendmsg`` a list of buffers (headers and memoryviews of guest memory, or
of one preallocated ciphertext buffer) so that a batch of frames costs one syscall and no Python copy;
the reader ``recv_into``s a preallocated buffer, or straight into guest memory for plaintext pages,
and opens sealed pages straight into guest memory. A frame whose body is one run (the common case:
runs of written memory are long) costs no copy; one that gathers several runs is copied once on each
side (sealing needs one contiguous buffer).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Sequence

from ..crypto.sealing import TAG_BYTES, FrameSealer, FrameUnauthenticated
from ..model.faults import Fault, HostCommunication, Timedout
from .abort_codes import AbortCode, abort_payload, describe, read_abort_payload
from .frames import (
    HEADER_SIZE,
    MAX_CONTROL_PAYLOAD,
    RUN_TABLE_BYTES,
    FrameHeader,
    FrameKind,
    Run,
    body_length,
    decode_header,
    pack_runs,
    stream_fault,
    table_part,
    unpack_runs,
)

_IOV_LIMIT = 512                 # well under IOV_MAX (1024)
_READ_AHEAD = 64 << 10
SOCKET_BUFFER_BYTES = 4 << 20


def tune_socket(sock: socket.socket) -> None:
    """Large buffers (fewer wake-ups on a fast link) and no Nagle (control frames go at once)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)


def connection_fault(error: OSError, peer: str, migration_id: int | None) -> Fault:
    target = f"migration-{migration_id:016x}" if migration_id is not None else ""
    if isinstance(error, TimeoutError):
        return Timedout(f"the vMotion connection to the {peer} timed out", object=target)
    return HostCommunication(f"the vMotion connection to the {peer} was lost ({type(error).__name__})", object=target)


class _Pacer:
    """Holds the sender to a bandwidth (a slower vMotion link), token-bucket style."""

    def __init__(self, bytes_per_second: float) -> None:
        self._rate = bytes_per_second
        self._next = time.monotonic()

    def wait(self, nbytes: int) -> None:
        now = time.monotonic()
        self._next = max(self._next, now) + nbytes / self._rate
        delay = self._next - now - 0.002          # allow a couple of ms of burst
        if delay > 0:
            time.sleep(delay)


class FrameWriter:
    """Sends one direction of one migration's frames.

    An encrypted stream needs two sealers of the direction: ``sealer`` for payloads and ``table_sealer``
    (the direction with RUN_TABLES) for the run tables of PAGES and DISK frames.
    """

    def __init__(self, sock: socket.socket, migration_id: int, sealer: FrameSealer | None, *,
                 table_sealer: FrameSealer | None = None, batch_bytes: int = 1 << 20,
                 bandwidth_limit_mbps: float | None = None, before_send: Callable[[], None] | None = None,
                 peer: str = "destination") -> None:
        self._sock = sock
        self.migration_id = migration_id
        self._sealer = sealer
        self._table_sealer = table_sealer
        self._batch_bytes = batch_bytes
        self._pacer = _Pacer(bandwidth_limit_mbps * 1e6) if bandwidth_limit_mbps else None
        self._before_send = before_send
        self._peer = peer
        self._sequence = 0
        self._iov: list[bytes | memoryview] = []
        self._pending = 0
        self._scratch = bytearray(batch_bytes + (64 << 10)) if sealer else bytearray(0)
        self._scratch_view = memoryview(self._scratch)
        self._scratch_used = 0
        self._gather = bytearray(0)
        self._table = bytearray(RUN_TABLE_BYTES)
        self._broken = False
        self.bytes_sent = 0

    def _header(self, kind: FrameKind, payload_length: int) -> bytes:
        return FrameHeader(kind, self._sealer is not None, self.migration_id, self._sequence, payload_length).pack()

    def _reserve(self, size: int) -> memoryview:
        """Room for ``size`` sealed bytes in the batch's ciphertext buffer (flushing first if it is full)."""
        if self._scratch_used + size > len(self._scratch):
            self.flush()
            if size > len(self._scratch):
                self._scratch_view.release()
                self._scratch = bytearray(size)
                self._scratch_view = memoryview(self._scratch)
        out = self._scratch_view[self._scratch_used:self._scratch_used + size]
        self._scratch_used += size
        return out

    def _seal(self, sealer: FrameSealer, header: bytes, payload: memoryview | bytes) -> memoryview:
        out = self._reserve(len(payload) + TAG_BYTES)
        sealer.seal_into(self._sequence, header, payload, out)
        return out

    def _queue(self, parts: list[bytes | memoryview], size: int) -> None:
        self._iov += parts
        self._pending += size
        self._sequence += 1
        if self._pending >= self._batch_bytes or len(self._iov) >= _IOV_LIMIT:
            self.flush()

    def send_runs(self, kind: FrameKind, runs: Sequence[Run], body: Sequence[memoryview | bytes | bytearray]) -> None:
        """A PAGES or DISK frame: its run table and its body (the bytes of the runs, in table order; guest
        memory is sent, or sealed, without a copy when the body is one buffer). The body must not change
        until the frame is flushed."""
        size = sum(len(part) for part in body)
        sealer, table_sealer = self._sealer, self._table_sealer
        if sealer is None:
            table = bytearray(RUN_TABLE_BYTES)            # its own: it crosses as it is, at the next flush
            pack_runs(runs, table, zeroed=True)
            header = self._header(kind, RUN_TABLE_BYTES + size)
            parts: list[bytes | memoryview] = [header, memoryview(table), *(memoryview(p) for p in body if len(p))]
            self._queue(parts, HEADER_SIZE + RUN_TABLE_BYTES + size)
            return
        if table_sealer is None:
            raise ValueError("an encrypted stream seals its run tables with their own sealer")
        pack_runs(runs, self._table)                      # reused: sealed (copied) at once
        length = table_part(True) + size + TAG_BYTES
        header = self._header(kind, length)
        sealed = self._reserve(length)                    # both parts at once: a flush between would reuse the first's room
        table_length = table_part(True)
        table_sealer.seal_into(self._sequence, header, memoryview(self._table), sealed[:table_length])
        sealer.seal_into(self._sequence, header, memoryview(body[0]) if len(body) == 1 else self._gathered(body, size),
                         sealed[table_length:])
        self._queue([header, sealed], HEADER_SIZE + length)

    def _gathered(self, body: Sequence[memoryview | bytes | bytearray], size: int) -> memoryview:
        """The parts of a body, copied into one buffer (AES-GCM seals one contiguous plaintext)."""
        if len(self._gather) < size:
            self._gather = bytearray(max(size, self._batch_bytes))
        view = memoryview(self._gather)
        offset = 0
        for part in body:
            view[offset:offset + len(part)] = part
            offset += len(part)
        return view[:size]

    def send_control(self, kind: FrameKind, payload: bytes = b"") -> None:
        """HELLO, SYNC, CHECKPOINT, END, ACK: sealed like page frames, sent at once."""
        sealer = self._sealer
        header = self._header(kind, len(payload) + (TAG_BYTES if sealer else 0))
        sealed = self._seal(sealer, header, payload) if sealer is not None else payload
        self._queue([header, sealed] if len(sealed) else [header], HEADER_SIZE + len(sealed))
        self.flush()

    def send_abort(self, code: AbortCode) -> None:
        """Best effort, unsealed, a code only: tells the peer why and a tap nothing; anyone able to forge
        it could cut the link anyway.

        Frames still queued are dropped; after a send that broke off mid-frame nothing more is sent
        (the peer would read the ABORT as garbage): it sees the connection close instead.
        """
        if self._broken:
            return
        payload = abort_payload(code)
        header = FrameHeader(FrameKind.ABORT, False, self.migration_id, self._sequence, len(payload)).pack()
        self._iov, self._pending = [header, payload], len(header) + len(payload)
        with contextlib.suppress(Exception):
            self.flush(check=False)

    def flush(self, check: bool = True) -> None:
        if not self._iov:
            return
        if check and self._before_send is not None:
            self._before_send()
        if self._pacer is not None:
            self._pacer.wait(self._pending)
        buffers, self._iov = self._iov, []
        size = total = self._pending
        self._pending = 0
        try:
            sent = self._sock.sendmsg(buffers)
            while sent < total:      # a partial send (socket timeout set): drop what went, send the rest
                total -= sent
                while sent >= len(buffers[0]):
                    sent -= len(buffers[0])
                    buffers.pop(0)
                if sent:
                    buffers[0] = memoryview(buffers[0])[sent:]
                sent = self._sock.sendmsg(buffers)
        except OSError as error:
            self._broken = True
            raise connection_fault(error, self._peer, self.migration_id) from None
        finally:
            self._scratch_used = 0
        self.bytes_sent += size

    def close(self) -> None:
        self._iov = []
        self._scratch_view.release()
        self._scratch = bytearray(0)
        self._gather = bytearray(0)
        self._sealer = self._table_sealer = None


class FrameReader:
    """Receives one direction of one migration's frames, taking each sequence number once, in order."""

    def __init__(self, sock: socket.socket, *, peer: str = "source", buffer_bytes: int = 4 << 20) -> None:
        self._sock = sock
        self._peer = peer
        self._buf = bytearray(buffer_bytes)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self.migration_id: int | None = None
        self._sealer: FrameSealer | None = None
        self._table_sealer: FrameSealer | None = None
        self._table = bytearray(RUN_TABLE_BYTES)
        self._gather = bytearray(0)
        self._expected = 0
        self.bytes_received = 0

    def bind(self, migration_id: int, sealer: FrameSealer | None, *, table_sealer: FrameSealer | None = None,
             next_sequence: int = 0) -> None:
        """From now on frames must belong to ``migration_id``, be sealed iff ``sealer`` is given (run tables
        under ``table_sealer``), and be numbered from ``next_sequence`` (1 once the HELLO was taken)."""
        self.migration_id = migration_id
        self._sealer = sealer
        self._table_sealer = table_sealer
        self._expected = next_sequence

    # --- raw input --------------------------------------------------------------------------------

    def _fill(self, need: int) -> None:
        """Makes ``need`` bytes available at self._start."""
        held = self._end - self._start
        if held >= need:
            return
        if self._start + need > len(self._buf) or not held:
            if need > len(self._buf):
                grown = bytearray(need)
                grown[:held] = self._view[self._start:self._end]
                self._view.release()
                self._buf, self._view = grown, memoryview(grown)
            elif held:
                self._view[:held] = self._view[self._start:self._end]      # memmove, no temporary
            self._start, self._end = 0, held
        while self._end - self._start < need:
            missing = need - (self._end - self._start)
            # Read ahead a little (many small frames per syscall), not a lot: a plaintext payload after
            # this header is better received straight into guest memory than copied out of here.
            self._end += self._recv_into(self._view[self._end:self._end + max(missing, _READ_AHEAD)], missing)

    def _recv_into(self, target: memoryview, need: int) -> int:
        try:
            received = self._sock.recv_into(target)
        except OSError as error:
            raise connection_fault(error, self._peer, self.migration_id) from None
        if received == 0:
            raise stream_fault("connection_lost", f"the {self._peer} closed the vMotion connection "
                                                  f"{'in the middle of a frame' if need else ''}".strip(), self.migration_id)
        self.bytes_received += received
        return received

    def _read_into(self, target: memoryview) -> None:
        """Copies what is buffered, then receives the rest straight into ``target``."""
        size = len(target)
        buffered = min(size, self._end - self._start)
        if buffered:
            target[:buffered] = self._view[self._start:self._start + buffered]
            self._start += buffered
        while buffered < size:
            buffered += self._recv_into(target[buffered:], size - buffered)

    # --- frames -----------------------------------------------------------------------------------

    def next_header(self) -> tuple[FrameHeader, bytes]:
        """The next frame's header (checked) and its raw bytes (the associated data of its seal)."""
        self._fill(HEADER_SIZE)
        raw = bytes(self._view[self._start:self._start + HEADER_SIZE])
        header = decode_header(raw)
        self._start += HEADER_SIZE
        if header.kind is FrameKind.ABORT:
            code = read_abort_payload(self._read_plain(header.payload_length))
            raise stream_fault("peer_abort", f"the {self._peer} ended the migration: {describe(code)}", self.migration_id)
        if self.migration_id is not None:
            self.check_place(header)
        return header, raw

    def check_place(self, header: FrameHeader) -> None:
        """Is this the frame expected next: this migration, this sequence number, sealed iff encrypted?"""
        mid = self.migration_id
        if header.migration_id != mid:
            raise stream_fault("foreign_migration", f"frame {header.sequence} belongs to migration "
                                                    f"{header.migration_id:016x}, not to this one", mid)
        if header.sequence < self._expected:
            raise stream_fault("replayed", f"frame {header.sequence} was replayed (frame {self._expected} was expected)", mid)
        if header.sequence > self._expected:
            raise stream_fault("out_of_sequence", f"frame {header.sequence} arrived when frame {self._expected} was "
                                                  "expected: a frame was dropped or reordered", mid)
        if header.sealed != (self._sealer is not None):
            state = "sealed" if header.sealed else "not sealed"
            raise stream_fault("seal_mismatch", f"frame {header.sequence} is {state}, but this migration is "
                                                f"{'encrypted' if self._sealer else 'plaintext'}", mid)

    def _open_part(self, sealer: FrameSealer | None, raw: bytes, sequence: int, kind: FrameKind,
                   target: memoryview | bytearray) -> None:
        """Receives one part of a payload (opening it when sealed) into ``target``, its plaintext size."""
        if sealer is None:
            self._read_into(memoryview(target))
            return
        length = len(target) + TAG_BYTES
        self._fill(length)
        try:
            sealer.open_into(sequence, raw, self._view[self._start:self._start + length], target)
        except FrameUnauthenticated:
            raise stream_fault("unauthenticated", f"frame {sequence} ({kind.name}) failed authentication: "
                               "altered in flight or sealed under another key", self.migration_id) from None
        finally:
            self._start += length

    def read_payload_into(self, header: FrameHeader, raw: bytes, target: memoryview) -> None:
        """Receives (and opens) a control payload into ``target`` (len = payload without tag)."""
        self._open_part(self._sealer, raw, header.sequence, header.kind, target)
        self._expected += 1

    def read_payload(self, header: FrameHeader, raw: bytes) -> bytes:
        """Receives (and opens) a small control payload; returns its plaintext."""
        size = header.payload_length - (TAG_BYTES if header.sealed else 0)
        if size > MAX_CONTROL_PAYLOAD:
            raise stream_fault("oversize", f"{header.kind.name} frame {header.sequence} is too large", self.migration_id)
        out = bytearray(size)
        self.read_payload_into(header, raw, memoryview(out))
        return bytes(out)

    def read_runs(self, header: FrameHeader, raw: bytes) -> list[Run]:
        """The run table of a PAGES or DISK frame (opened under the table sealer when sealed); the body
        follows with ``read_body_into``."""
        sealer = self._table_sealer if self._sealer is not None else None
        if self._sealer is not None and sealer is None:
            raise ValueError("an encrypted stream opens its run tables with their own sealer")
        self._open_part(sealer, raw, header.sequence, header.kind, self._table)
        return unpack_runs(self._table, header)

    def read_body_into(self, header: FrameHeader, raw: bytes, targets: Sequence[memoryview]) -> None:
        """Receives (and opens) the body of a PAGES or DISK frame into ``targets``, in order, whose sizes
        add up to the body's: straight into them when it is one, else through one buffer when sealed."""
        size = body_length(header)
        if sum(len(t) for t in targets) != size:
            raise stream_fault("bad_runs", f"{header.kind.name} frame {header.sequence}: its runs do not match "
                                           f"its length", self.migration_id)
        if self._sealer is None:
            for target in targets:
                self._read_into(target)
        elif len(targets) == 1:
            self._open_part(self._sealer, raw, header.sequence, header.kind, targets[0])
        else:
            if len(self._gather) < size:
                self._gather = bytearray(size)
            body = memoryview(self._gather)[:size]
            self._open_part(self._sealer, raw, header.sequence, header.kind, body)
            offset = 0
            for target in targets:
                target[:] = body[offset:offset + len(target)]
                offset += len(target)
        self._expected += 1

    def _read_plain(self, length: int) -> bytes:
        self._fill(length)
        data = bytes(self._view[self._start:self._start + length])
        self._start += length
        return data

    def close(self) -> None:
        self._view.release()
        self._buf = bytearray(0)
        self._gather = bytearray(0)
        self._sealer = self._table_sealer = None

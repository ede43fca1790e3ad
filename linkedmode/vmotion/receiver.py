"""The destination side: a host's vMotion listener and the migrations it was told to expect.

A connection is taken only for a migration the host was prepared for (the spec with its key came from
vCenter): its HELLO must name a prepared migration id, and in an encrypted migration must open under
that migration's key. Pages go straight into the destination VM's memory, allocated and pre-faulted at
prepare time. Disks that change datastore arrive as DISK frames into new sparse files, made at prepare
time too. On any failure the destination drops everything it received, disk files included (the VM
stays on the source, row V5), and whatever way the migration ends its secrets are wiped.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from enum import Enum

from ..crypto.sealing import TAG_BYTES, TO_DESTINATION, TO_SOURCE, FrameSealer
from ..crypto.secrets import MigrationSecrets
from ..model.faults import AlreadyExists, Fault, InvalidArgument, RequestCanceled, SystemError, Timedout
from .digest import CHECKSUMS_BY_CODE, DIGEST_BYTES, ChunkChecksum, MemoryDigest
from .disks import DiskWriter
from .frames import ACK_RESUMED, ACK_SYNCED, ACK_VERIFIED, DISK_NUMBER, FrameHeader, FrameKind, stream_fault
from .guest import GuestMemory
from .stream import FrameReader, FrameWriter, connection_fault, tune_socket

log = logging.getLogger(__name__)


class IncomingState(str, Enum):
    PREPARED = "prepared"      # memory allocated, secrets held, no connection yet
    RECEIVING = "receiving"    # pre-copy rounds and the last pages
    VERIFIED = "verified"      # the checkpoint digest matched: a complete copy, waiting for END
    RESUMED = "resumed"        # END arrived: the VM is this host's now
    FAILED = "failed"          # ended without the VM; everything received was dropped


PREPARED, RECEIVING, VERIFIED, RESUMED, FAILED = IncomingState


class IncomingMigration:
    """One migration a destination host expects: its memory, its disks, its secrets, and what came of it.

    ``disks``: (path, size in bytes) of each disk that changes datastore, in the source's order.
    """

    def __init__(self, listener: VMotionListener, secrets: MigrationSecrets | None, memory_mb: int,
                 migration_id: int, *, prefault: bool = True, connect_by: float = float("inf"),
                 disks: Sequence[tuple[str, int]] = ()) -> None:
        self.migration_id = migration_id
        self.memory_mb = memory_mb
        self.encrypted = secrets is not None
        self.memory: GuestMemory | None = GuestMemory(memory_mb, prefault=prefault)
        self.disks: list[DiskWriter] = []
        try:
            for path, size in disks:
                self.disks.append(DiskWriter(path, size))
        except Fault:
            self._drop_received()
            raise
        self.disk_bytes_received = 0
        self.device_state: bytes | None = None
        self.state: IncomingState = PREPARED
        self.fault: Fault | None = None
        self.pages_received = 0
        self.bytes_received = 0
        self._secrets = secrets
        self._listener = listener
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._conn: socket.socket | None = None
        self._aborted: str | None = None
        self._connect_by = connect_by

    def __repr__(self) -> str:
        return f"IncomingMigration({self.migration_id:016x}, {self.memory_mb} MB, {self.state.value})"

    def wait(self, timeout: float | None = None) -> GuestMemory:
        """The received memory once the VM resumed here; raises the fault that ended the migration."""
        if not self._done.wait(timeout):
            raise Timedout(f"migration {self.migration_id:016x} is still {self.state.value}", object=self._object)
        if self.fault is not None:
            raise self.fault
        assert self.memory is not None
        return self.memory

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def abort(self, reason: str = "the destination host cancelled the migration") -> None:
        """Ends the migration unless the VM already resumed here; the received memory is dropped."""
        with self._lock:
            if self.state in (RESUMED, FAILED):
                return
            self._aborted = reason
            conn = self._conn
            connected = self.state != PREPARED
        if connected and conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)        # the receiving thread fails and cleans up
            except OSError:
                pass
        else:
            self._finish(RequestCanceled(reason, object=self._object))

    def expire_if_unclaimed(self, now: float) -> None:
        with self._lock:
            expired = self.state == PREPARED and now > self._connect_by
        if expired:
            self._finish(Timedout("the source host did not connect in time", object=self._object))

    @property
    def _object(self) -> str:
        return f"migration-{self.migration_id:016x}"

    # --- receiving (runs on the connection's thread) ------------------------------------------------

    def claim(self, conn: socket.socket) -> bool:
        """Takes the connection if this migration is still waiting for one."""
        with self._lock:
            if self.state != PREPARED or self._aborted is not None:
                return False
            self.state = RECEIVING
            self._conn = conn
            return True

    def receive(self, conn: socket.socket, reader: FrameReader, hello: FrameHeader, raw: bytes, idle_timeout_s: float) -> None:
        writer: FrameWriter | None = None
        sealers: list[FrameSealer] = []
        try:
            if self._secrets is not None:
                sealers = [FrameSealer(self._secrets, TO_DESTINATION), FrameSealer(self._secrets, TO_SOURCE)]
            reader.bind(self.migration_id, sealers[0] if sealers else None)
            writer = FrameWriter(conn, self.migration_id, sealers[1] if sealers else None, peer="source")
            reader.check_place(hello)
            offer = reader.read_payload(hello, raw)         # an encrypted HELLO must open under our key
            assert self.memory is not None
            if hello.page_count != self.memory.page_count:
                raise stream_fault("size_mismatch", f"the source migrates {hello.page_count} pages; this host prepared "
                                   f"{self.memory.page_count}", self.migration_id)
            checksum = CHECKSUMS_BY_CODE.get(offer[0]) if offer else None
            if checksum is None:
                raise stream_fault("bad_hello", "the source asked for an unknown checkpoint digest", self.migration_id)
            if not checksum.size and not self.encrypted:
                raise stream_fault("bad_hello", "a plaintext migration must carry a checkpoint digest", self.migration_id)
            conn.settimeout(idle_timeout_s)
            self._receive_frames(reader, writer, checksum)
            self.bytes_received = reader.bytes_received
            self._finish(None)
        except Fault as fault:
            self.bytes_received = reader.bytes_received
            self._fail(fault, writer)
        except OSError as error:
            self.bytes_received = reader.bytes_received
            self._fail(connection_fault(error, "source", self.migration_id), writer)
        except Exception as error:      # a bug: the migration still ends, drops what it has and wipes its key
            log.exception("vMotion %s: unexpected error on the destination", self._object)
            self._fail(SystemError(f"the destination failed: {type(error).__name__}", object=self._object), writer)
        finally:
            for sealer in sealers:
                sealer.close()
            reader.close()
            if writer is not None:
                writer.close()
            _close_gently(conn)

    def _receive_frames(self, reader: FrameReader, writer: FrameWriter, checksum: ChunkChecksum) -> None:
        memory = self.memory
        assert memory is not None
        digest = MemoryDigest(memory.view(), memory.page_count, checksum)
        empty = memoryview(bytearray(0))
        ours = b""
        try:
            while True:
                header, raw = reader.next_header()
                kind = header.kind
                if kind is FrameKind.PAGES or kind is FrameKind.ZERO_RUN:
                    first, count = header.first_page, header.page_count
                    if first + count > memory.page_count:
                        raise stream_fault("out_of_bounds", f"frame {header.sequence} names pages {first}..{first + count}, "
                                           f"beyond the VM's {memory.page_count}", self.migration_id)
                    if self.state != RECEIVING:
                        raise stream_fault("unexpected_kind", f"pages after the checkpoint (frame {header.sequence})",
                                           self.migration_id)
                    if kind is FrameKind.PAGES:
                        with memory.view(first, count) as target:
                            reader.read_payload_into(header, raw, target)
                        memory.note_received(first, count)
                        self.pages_received += count
                    else:
                        reader.read_payload_into(header, raw, empty)
                        if not memory.zero(first, count):
                            continue
                    digest.update(first, count)
                elif kind is FrameKind.DISK and self.state == RECEIVING:
                    self._receive_disk_blocks(reader, header, raw)
                elif kind is FrameKind.SYNC and self.state == RECEIVING:
                    reader.read_payload(header, raw)
                    writer.send_control(FrameKind.ACK, bytes([ACK_SYNCED]))
                elif kind is FrameKind.CHECKPOINT and self.state == RECEIVING:
                    payload = reader.read_payload(header, raw)
                    ours = digest.digest()
                    if payload[:DIGEST_BYTES] != ours:
                        raise stream_fault("digest_mismatch", "the memory digest at the checkpoint differs from the source's: "
                                           "the copy is incomplete or was altered in flight", self.migration_id)
                    self._check_disks(payload[DIGEST_BYTES:])
                    self.device_state = payload[DIGEST_BYTES * (1 + len(self.disks)):]
                    self.state = VERIFIED
                    writer.send_control(FrameKind.ACK, bytes([ACK_VERIFIED]) + ours)
                elif kind is FrameKind.END and self.state == VERIFIED:
                    reader.read_payload(header, raw)
                    with self._lock:
                        if self._aborted is not None:
                            raise RequestCanceled(self._aborted, object=self._object)
                        self.state = RESUMED
                    try:
                        writer.send_control(FrameKind.ACK, bytes([ACK_RESUMED]) + ours)
                    except Fault:
                        pass        # END committed the move: the VM is ours even if the source cannot hear it
                    return
                else:
                    raise stream_fault("unexpected_kind", f"{kind.name} frame {header.sequence} is out of place "
                                       f"(migration {self.state.value})", self.migration_id)
        finally:
            digest.release()

    def _receive_disk_blocks(self, reader: FrameReader, header: FrameHeader, raw: bytes) -> None:
        payload = bytearray(header.payload_length - (TAG_BYTES if header.sealed else 0))
        reader.read_payload_into(header, raw, memoryview(payload))
        (number,) = DISK_NUMBER.unpack_from(payload)
        if number >= len(self.disks):
            raise stream_fault("unknown_disk", f"frame {header.sequence} carries blocks of disk {number}; this migration "
                               f"moves {len(self.disks)}", self.migration_id)
        try:
            self.disks[number].write(header.first_page, memoryview(payload)[DISK_NUMBER.size:])
        except ValueError as error:
            raise stream_fault("out_of_bounds", f"frame {header.sequence}: {error}", self.migration_id) from None
        self.disk_bytes_received += len(payload) - DISK_NUMBER.size

    def _check_disks(self, digests: bytes) -> None:
        """Each disk's digest, as the source computed it, against this copy's."""
        for number, disk in enumerate(self.disks):
            if digests[number * DIGEST_BYTES:(number + 1) * DIGEST_BYTES] != disk.digest():
                raise stream_fault("disk_digest_mismatch", f"the digest of disk {number} at the checkpoint differs from "
                                   "the source's: the copy is incomplete or was altered in flight", self.migration_id)

    def _drop_received(self) -> None:
        memory, self.memory = self.memory, None
        if memory is not None:
            memory.close()
        for disk in self.disks:
            disk.discard()

    def _fail(self, fault: Fault, writer: FrameWriter | None) -> None:
        if self._aborted is not None and not isinstance(fault, RequestCanceled):
            fault = RequestCanceled(self._aborted, object=self._object)
        log.info("vMotion %s failed on the destination: %s", self._object, fault)
        if writer is not None:
            writer.send_abort(fault.message)
        self._finish(fault)

    def _finish(self, fault: Fault | None) -> None:
        """Ends the migration: on failure drops the memory; either way wipes the secrets."""
        with self._lock:
            if self._done.is_set():
                return
            if fault is not None:
                self.state = FAILED
                self.fault = fault
                self._drop_received()
            else:
                for disk in self.disks:
                    disk.close()
            if self._secrets is not None:
                self._secrets.wipe()
                self._secrets = None
            self._conn = None
        self._listener._forget(self)
        self._done.set()


def _close_gently(conn: socket.socket) -> None:
    """Half-closes, then reads what is still in flight (briefly), so an ABORT we sent is not lost to a reset."""
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(0.5)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and conn.recv(1 << 16):
            pass
    except OSError:
        pass
    finally:
        conn.close()


class VMotionListener:
    """A host's vMotion interface: one TCP listener, accepting the migrations it was prepared for."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, idle_timeout_s: float = 30.0,
                 hello_timeout_s: float = 10.0) -> None:
        self._idle_timeout_s = idle_timeout_s
        self._hello_timeout_s = hello_timeout_s
        self._incoming: dict[int, IncomingMigration] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.refused_connections = 0
        self._server = socket.create_server((host, port), backlog=16)
        self._server.settimeout(0.25)
        self._thread = threading.Thread(target=self._accept_loop, name="vmotion-listener", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return host, port

    def prepare(self, secrets: MigrationSecrets | None, memory_mb: int, migration_id: int | None = None, *,
                prefault: bool = True, connect_within_s: float = 120.0,
                disks: Sequence[tuple[str, int]] = ()) -> IncomingMigration:
        """Expects one migration: allocates (and pre-faults) its memory and makes its disk files now (see
        IncomingMigration); keeps its secrets until it ends.

        A source that has not connected within ``connect_within_s`` fails the migration (Timedout),
        so that no key waits here forever for a migration that was given up elsewhere.
        """
        if secrets is None and migration_id is None:
            raise InvalidArgument("a plaintext migration needs a migration_id", argument="migration_id")
        if secrets is not None and migration_id not in (None, secrets.migration_id):
            raise InvalidArgument("migration_id does not match the migration secrets", argument="migration_id")
        mid: int = secrets.migration_id if secrets is not None else migration_id  # type: ignore[assignment]
        if self.incoming(mid) is not None:
            raise AlreadyExists(f"migration {mid:016x} is already expected on this host", object=f"migration-{mid:016x}")
        incoming = IncomingMigration(self, secrets, memory_mb, mid, prefault=prefault, disks=disks,
                                     connect_by=time.monotonic() + connect_within_s)       # outside the lock: slow
        with self._lock:
            if mid not in self._incoming:
                self._incoming[mid] = incoming
                return incoming
        incoming._secrets = None          # a race with another prepare: its secrets are not ours to wipe
        incoming.abort("prepared twice")
        raise AlreadyExists(f"migration {mid:016x} is already expected on this host", object=f"migration-{mid:016x}")

    def incoming(self, migration_id: int) -> IncomingMigration | None:
        with self._lock:
            return self._incoming.get(migration_id)

    @property
    def migrations(self) -> list[IncomingMigration]:
        with self._lock:
            return list(self._incoming.values())

    def close(self) -> None:
        """Stops listening and aborts every migration still expected or in flight."""
        self._closed.set()
        try:
            self._server.shutdown(socket.SHUT_RDWR)      # wakes accept() at once on Linux
        except OSError:
            pass
        self._thread.join()
        self._server.close()
        for incoming in self.migrations:
            incoming.abort("the destination host's vMotion interface went down")

    def __enter__(self) -> VMotionListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forget(self, incoming: IncomingMigration) -> None:
        with self._lock:
            if self._incoming.get(incoming.migration_id) is incoming:
                del self._incoming[incoming.migration_id]

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                now = time.monotonic()
                for incoming in self.migrations:
                    incoming.expire_if_unclaimed(now)
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="vmotion-receive", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tune_socket(conn)
            conn.settimeout(self._hello_timeout_s)
            reader = FrameReader(conn, peer="source")
            hello, raw = reader.next_header()
        except (Fault, OSError) as error:
            self._refuse(conn, None, f"no valid HELLO ({error})")
            return
        incoming = self.incoming(hello.migration_id)
        if hello.kind is not FrameKind.HELLO or hello.sequence != 0:
            self._refuse(conn, hello.migration_id, f"the first frame was {hello.kind.name} {hello.sequence}, not HELLO 0")
        elif incoming is None or not incoming.claim(conn):
            self._refuse(conn, hello.migration_id, f"migration {hello.migration_id:016x} was not prepared on this host")
        else:
            incoming.receive(conn, reader, hello, raw, self._idle_timeout_s)

    def _refuse(self, conn: socket.socket, migration_id: int | None, reason: str) -> None:
        with self._lock:
            self.refused_connections += 1
        log.warning("refused a vMotion connection: %s", reason)
        if migration_id is not None:
            FrameWriter(conn, migration_id, None, peer="source").send_abort(reason)
        _close_gently(conn)

"""The destination side: a host's vMotion listener and the migrations it was told to expect.

A connection is taken only for a migration the host was prepared for (the spec with its key came from
vCenter): its HELLO must name a prepared migration id, and in an encrypted migration must open under
that migration's key (handshake.py holds connections until then, within the host's limits; a HELLO
that does not open is refused and the migration still waits for its source).

Pages go straight into the destination VM's memory, backed whole at prepare time (the page stream
pays no allocation); once the HELLO names the chunks the source wrote, the others are given back, and
one is backed again if a page comes into it later (populate.py). Disks that
change datastore arrive as DISK frames into new sparse files, made at prepare time. On any failure
the destination drops everything it received, disk files included (the VM stays on the source, row
V5), and whatever way the migration ends its secrets are wiped.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from ..crypto.sealing import RUN_TABLES, TO_DESTINATION, TO_SOURCE, FrameSealer, FrameUnauthenticated
from ..crypto.secrets import MigrationSecrets, SecretsWiped
from ..model.faults import AlreadyExists, Fault, InvalidArgument, RequestCanceled, SystemError, Timedout
from .abort_codes import AbortCode, abort_code
from .digest import CHECKSUMS_BY_CODE, DIGEST_BYTES, PAGE_SIZE, ChunkChecksum, MemoryDigest
from .disks import DiskFile, DiskWriter
from .frames import ACK_RESUMED, ACK_SYNCED, ACK_VERIFIED, DISK_BLOCK, HELLO, RUN_ZERO, FrameHeader, FrameKind, Run, stream_fault
from .guest import GuestMemory
from .handshake import HandshakeStage, VMotionLimits
from .populate import Populator
from .stream import FrameReader, FrameWriter, connection_fault, tune_socket
from .vsan import wipe_all

log = logging.getLogger(__name__)


class HelloOffer(NamedTuple):
    """What a source's HELLO says, once it opened."""

    checksum_code: int      # the checkpoint digest's
    pages: int              # the VM's size
    chunks: bytes           # the chunk map: where the source has written (populate.py)


class IncomingState(StrEnum):
    PREPARED = "prepared"      # memory backed, secrets held, no connection yet
    RECEIVING = "receiving"    # pre-copy rounds and the last pages
    VERIFIED = "verified"      # the checkpoint digest matched: a complete copy, waiting for END
    RESUMED = "resumed"        # END arrived: the VM is this host's now
    FAILED = "failed"          # ended without the VM; everything received was dropped


PREPARED, RECEIVING, VERIFIED, RESUMED, FAILED = IncomingState


class IncomingMigration:
    """One migration a destination host expects: its memory, its disks, its secrets, and what came of it.

    ``disks``: (path, size in bytes) of each disk that changes datastore, in the source's order, or a
    DiskFile with the vSAN layer of its datastore (wiped when the migration ends). ``prefault``: back
    the whole memory now and keep what the HELLO names (populate.py); False, pages fault in as they are copied.
    """

    def __init__(self, listener: VMotionListener, secrets: MigrationSecrets | None, memory_mb: int,
                 migration_id: int, *, prefault: bool = True, connect_by: float = float("inf"),
                 disks: Sequence[tuple[str, int] | DiskFile] = ()) -> None:
        self.migration_id = migration_id
        self.memory_mb = memory_mb
        self.encrypted = secrets is not None
        self.memory: GuestMemory | None = GuestMemory(memory_mb)
        self.disks: list[DiskWriter] = []
        try:
            self.populator = Populator(self.memory, enabled=prefault)      # refuses a guest there is no room for
            for disk in disks:
                target = disk if isinstance(disk, DiskFile) else DiskFile(*disk)
                self.disks.append(DiskWriter(target.path, target.size, target.vsan))
        except Fault:
            self._drop_received()
            wipe_all(d.vsan for d in disks if isinstance(d, DiskFile))
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
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)        # the receiving thread fails and cleans up
        else:
            self._finish(RequestCanceled(reason, object=self._object))

    def expire_if_unclaimed(self, now: float) -> float | None:
        """Fails the migration if its source has not connected by now; else when to look again (None: never)."""
        with self._lock:
            waiting = self.state == PREPARED
            expired = waiting and now >= self._connect_by
        if expired:
            self._finish(Timedout("the source host did not connect in time", object=self._object))
        return self._connect_by if waiting and not expired else None

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

    def open_hello(self, header: FrameHeader, raw: bytes, payload: bytes) -> HelloOffer:
        """What a HELLO offers, if it opens under this migration's key;
        raises a stream fault if it does not (the migration itself is not touched)."""
        if header.sealed != self.encrypted:
            raise stream_fault("seal_mismatch", f"the HELLO is {'sealed' if header.sealed else 'not sealed'}, but this "
                               f"migration is {'encrypted' if self.encrypted else 'plaintext'}", self.migration_id)
        plain = bytearray(HELLO.size)
        secrets = self._secrets
        try:
            sealer = FrameSealer(secrets, TO_DESTINATION) if secrets is not None else None
        except SecretsWiped:
            sealer = None                   # it ended meanwhile
        if self.encrypted and sealer is None:
            raise stream_fault("not_prepared", "the migration has ended", self.migration_id)
        if sealer is not None:
            try:
                sealer.open_into(0, raw, payload, plain)
            except FrameUnauthenticated:
                raise stream_fault("unauthenticated", "frame 0 (HELLO) failed authentication: altered in flight or "
                                   "sealed under another key", self.migration_id) from None
            finally:
                sealer.close()
        else:
            plain[:] = payload
        return HelloOffer(*HELLO.unpack(plain))

    def receive(self, conn: socket.socket, offer: HelloOffer, idle_timeout_s: float) -> None:
        """Runs on the connection's own thread once its HELLO (``offer``) opened and it claimed this migration."""
        writer: FrameWriter | None = None
        sealers: list[FrameSealer] = []
        reader = FrameReader(conn, peer="source")
        try:
            if self._secrets is not None:
                sealers = [FrameSealer(self._secrets, TO_DESTINATION), FrameSealer(self._secrets, TO_SOURCE),
                           FrameSealer(self._secrets, TO_DESTINATION | RUN_TABLES)]
            reader.bind(self.migration_id, sealers[0] if sealers else None,
                        table_sealer=sealers[2] if sealers else None, next_sequence=1)
            writer = FrameWriter(conn, self.migration_id, sealers[1] if sealers else None, peer="source")
            assert self.memory is not None
            if offer.pages != self.memory.page_count:
                raise stream_fault("size_mismatch", f"the source migrates {offer.pages} pages; this host prepared "
                                   f"{self.memory.page_count}", self.migration_id)
            checksum = CHECKSUMS_BY_CODE.get(offer.checksum_code)
            if checksum is None:
                raise stream_fault("bad_hello", "the source asked for an unknown checkpoint digest", self.migration_id)
            if not checksum.size and not self.encrypted:
                raise stream_fault("bad_hello", "a plaintext migration must carry a checkpoint digest", self.migration_id)
            self.populator.announced(offer.chunks)
            tune_socket(conn)
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
        ours = b""
        # Round 0 sends the pages the HELLO's chunk map was made from, all in chunks backed at the HELLO;
        # only a later round can write into a chunk given back, so only then are chunks covered first.
        later_round = False
        try:
            while True:
                header, raw = reader.next_header()
                kind = header.kind
                if kind is FrameKind.PAGES:
                    if self.state != RECEIVING:
                        raise stream_fault("unexpected_kind", f"pages after the checkpoint (frame {header.sequence})",
                                           self.migration_id)
                    self._receive_pages(reader, header, raw, digest, cover=later_round)
                elif kind is FrameKind.DISK and self.state == RECEIVING:
                    self._receive_disk_blocks(reader, header, raw)
                elif kind is FrameKind.SYNC and self.state == RECEIVING:
                    reader.read_payload(header, raw)           # the round: nothing to check beyond the seal
                    later_round = True
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
                    with contextlib.suppress(Fault):   # END committed the move: ours even if the source cannot hear it
                        writer.send_control(FrameKind.ACK, bytes([ACK_RESUMED]) + ours)
                    return
                else:
                    raise stream_fault("unexpected_kind", f"{kind.name} frame {header.sequence} is out of place "
                                       f"(migration {self.state.value})", self.migration_id)
        finally:
            digest.release()

    def _receive_pages(self, reader: FrameReader, header: FrameHeader, raw: bytes, digest: MemoryDigest, *,
                       cover: bool) -> None:
        memory = self.memory
        assert memory is not None
        runs = self._checked_runs(reader.read_runs(header, raw), header, memory.page_count, "pages")
        written = [run for run in runs if run.tag != RUN_ZERO]
        if cover:
            self.populator.cover(written)
        with memory.view() as view:
            reader.read_body_into(header, raw, [view[r.first * PAGE_SIZE:(r.first + r.size) * PAGE_SIZE] for r in written])
        for first, count, tag in runs:
            if tag == RUN_ZERO:
                if not memory.zero(first, count):
                    continue
            else:
                memory.note_received(first, count)
                self.pages_received += count
            digest.update(first, count)

    def _receive_disk_blocks(self, reader: FrameReader, header: FrameHeader, raw: bytes) -> None:
        runs = reader.read_runs(header, raw)
        for run in runs:
            if run.tag >= len(self.disks):
                raise stream_fault("unknown_disk", f"frame {header.sequence} carries blocks of disk {run.tag}; this "
                                   f"migration moves {len(self.disks)}", self.migration_id)
        body = memoryview(bytearray(sum(run.size for run in runs) * DISK_BLOCK))
        parts, offset = [], 0
        for run in runs:
            parts.append(body[offset:offset + run.size * DISK_BLOCK])
            offset += run.size * DISK_BLOCK
        reader.read_body_into(header, raw, parts)
        for run, blocks in zip(runs, parts, strict=True):
            try:
                self.disks[run.tag].write(run.first, blocks)
            except ValueError as error:
                raise stream_fault("out_of_bounds", f"frame {header.sequence}: {error}", self.migration_id) from None
            self.disk_bytes_received += len(blocks)

    def _checked_runs(self, runs: list[Run], header: FrameHeader, limit: int, what: str) -> list[Run]:
        """Runs within [0, limit), in increasing order and not overlapping (so a body lands once, in place)."""
        end = 0
        for first, count, tag in runs:
            if first + count > limit:
                raise stream_fault("out_of_bounds", f"frame {header.sequence} names {what} {first}..{first + count}, "
                                   f"beyond the VM's {limit}", self.migration_id)
            if first < end or tag > RUN_ZERO:
                raise stream_fault("bad_runs", f"frame {header.sequence}: its runs overlap, are out of order or of "
                                   "an unknown kind", self.migration_id)
            end = first + count
        return runs

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
            writer.send_abort(abort_code(fault))
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
            wipe_all(d.vsan for d in self.disks)
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
    """A host's vMotion interface: one TCP listener, accepting the migrations it was prepared for.

    Connections wait for their HELLO in one selector thread (handshake.py), within ``limits``; one that
    opens under a prepared migration's key gets a thread of its own for the stream.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, idle_timeout_s: float = 30.0,
                 limits: VMotionLimits | None = None) -> None:
        self._idle_timeout_s = idle_timeout_s
        self._incoming: dict[int, IncomingMigration] = {}
        self._lock = threading.Lock()
        self._server = socket.create_server((host, port), backlog=128)
        self._stage = HandshakeStage(self._server, limits or VMotionLimits(), self._admit, self._expire_unclaimed)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return host, port

    @property
    def limits(self) -> VMotionLimits:
        return self._stage.limits

    @property
    def refused_connections(self) -> int:
        """Connections closed before authentication: over a limit, past the HELLO deadline, or refused."""
        return self._stage.refused

    @property
    def handshake(self) -> HandshakeStage:
        return self._stage

    def prepare(self, secrets: MigrationSecrets | None, memory_mb: int, migration_id: int | None = None, *,
                prefault: bool = True, connect_within_s: float = 120.0,
                disks: Sequence[tuple[str, int] | DiskFile] = ()) -> IncomingMigration:
        """Expects one migration: backs its memory (until the HELLO says where the source wrote) and
        makes its disk files now (see IncomingMigration); keeps its secrets until it ends.

        A source that has not connected within ``connect_within_s`` fails the migration (Timedout),
        so that no key waits here forever for a migration that was given up elsewhere.
        """
        if secrets is None and migration_id is None:
            raise InvalidArgument("a plaintext migration needs a migration_id", argument="migration_id")
        if secrets is not None and migration_id not in (None, secrets.migration_id):
            raise InvalidArgument("migration_id does not match the migration secrets", argument="migration_id")
        mid: int = secrets.migration_id if secrets is not None else migration_id  # type: ignore[assignment]  # not None without secrets: checked above
        if self.incoming(mid) is not None:
            raise AlreadyExists(f"migration {mid:016x} is already expected on this host", object=f"migration-{mid:016x}")
        incoming = IncomingMigration(self, secrets, memory_mb, mid, prefault=prefault, disks=disks,
                                     connect_by=time.monotonic() + connect_within_s)       # outside the lock: slow
        with self._lock:
            if mid not in self._incoming:
                self._incoming[mid] = incoming
                self._stage.wake()         # its connect deadline may come before any the stage waits for
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
        self._stage.close()
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

    def _expire_unclaimed(self, now: float) -> float | None:
        """Fails the prepared migrations whose source did not connect in time; returns the next such deadline."""
        upcoming = [when for incoming in self.migrations if (when := incoming.expire_if_unclaimed(now)) is not None]
        return min(upcoming, default=None)

    def _admit(self, conn: socket.socket, hello: FrameHeader, raw: bytes, payload: bytes) -> AbortCode | None:
        """A complete HELLO: takes the connection for its migration, or says why not."""
        incoming = self.incoming(hello.migration_id)
        if incoming is None:
            return AbortCode.NOT_PREPARED
        try:
            offer = incoming.open_hello(hello, raw, payload)
        except Fault as fault:
            return abort_code(fault)
        if not incoming.claim(conn):
            return AbortCode.NOT_PREPARED
        threading.Thread(target=incoming.receive, args=(conn, offer, self._idle_timeout_s),
                         name="vmotion-receive", daemon=True).start()
        return None

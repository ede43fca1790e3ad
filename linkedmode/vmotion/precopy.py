"""The source side of a hot migration: pre-copy rounds, SDPS, stun, checkpoint, switchover (rows V1-V5).

Until the destination confirms END, the VM belongs to the source: every failure before that point
sends ABORT (so the destination drops its copy), lifts the throttle and resumes the guest here.
Whatever way the migration ends, its secrets are wiped.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..crypto.sealing import RUN_TABLES, TO_DESTINATION, TO_SOURCE, FrameSealer
from ..crypto.secrets import MigrationSecrets
from ..model.faults import (
    Fault,
    HostCommunication,
    InvalidArgument,
    InvalidState,
    MigrationFault,
    RequestCanceled,
    SwitchoverUnconfirmed,
    SystemError,
    Timedout,
)
from .abort_codes import abort_code
from .convergence import PrecopyPolicy, RoundStats, Step
from .digest import CHECKSUMS, PAGE_SIZE, MemoryDigest
from .disks import DiskFile, send_disk
from .frames import ACK_RESUMED, ACK_SYNCED, ACK_VERIFIED, HELLO, ROUND, FrameKind, stream_fault
from .guest import GuestMemory, GuestWorkload, PageMap
from .packing import RunPacker
from .populate import chunk_map
from .stream import FrameReader, FrameWriter, connection_fault, tune_socket
from .vsan import wipe_all


@dataclass(frozen=True)
class MigrationOptions:
    policy: PrecopyPolicy = field(default_factory=PrecopyPolicy)
    max_switchover_seconds: float = 100.0       # vmotion.maxSwitchoverSeconds
    frame_pages: int = 256                      # 1 MiB frames (measured: see scripts/bench_engine.py)
    bandwidth_limit_mbps: float | None = None   # a slower vMotion link, enforced by the sender
    connect_timeout_s: float = 10.0
    stream_timeout_s: float = 30.0              # no progress on the socket for this long: the link is dead
    checkpoint_digest: str = "ghash"            # chunk checksum of the checkpoint digest: "ghash" or "sha256"


@dataclass(frozen=True)
class MigrationProgress:
    round: int
    pages_left: int
    bytes_sent: int
    bandwidth_mbps: float
    throttle: float
    phase: Step


@dataclass(frozen=True)
class MigrationResult:
    migration_id: int
    encrypted: bool
    rounds: int                  # pre-copy rounds, round 0 included
    bytes_sent: int              # on the wire, headers and tags included
    pages_sent: int              # pages that crossed as bytes, every round
    zero_pages: int              # pages that crossed as zero runs (no bytes)
    duration_s: float
    downtime_ms: float           # stun to the destination's confirmed resume
    digest_match: bool
    digest: str                  # the checkpoint digest both ends agreed on (hex; see digest.py)
    throttle: float              # the highest SDPS throttle applied
    forced_switchover: bool      # pre-copy never fit the goal; switched over at the round limit
    bandwidth_mbps: float
    disk_bytes: int = 0          # blocks of the disks that changed datastore (holes never cross)


class OutgoingMigration:
    """Migrates one running guest's memory to a destination host's vMotion listener.

    ``switchover(seconds_left)``, if given, runs once the destination holds a verified copy and before
    END commits the move (the guest is stunned): the vCenter hand-over goes there. If it raises, or
    the switchover outlives ``max_switchover_seconds``, the migration fails and the guest resumes here.

    On success the source guest stays stunned: the host powers its copy off and drops it.

    ``disks``: the files of the disks that change datastore (a path, or a DiskFile with the vSAN layer
    of its datastore, wiped when the migration ends); their blocks follow round 0, each disk numbered
    by its place in this list, and their digests go in the checkpoint.
    """

    def __init__(self, memory: GuestMemory, destination: tuple[str, int], secrets: MigrationSecrets | None, *,
                 migration_id: int | None = None, workload: GuestWorkload | None = None, device_state: bytes = b"",
                 options: MigrationOptions | None = None,
                 progress: Callable[[MigrationProgress], None] | None = None,
                 switchover: Callable[[float], None] | None = None, disks: Sequence[str | DiskFile] = ()) -> None:
        if secrets is None and migration_id is None:
            raise InvalidArgument("a plaintext migration needs a migration_id", argument="migration_id")
        if secrets is not None and migration_id not in (None, secrets.migration_id):
            raise InvalidArgument("migration_id does not match the migration secrets", argument="migration_id")
        self.migration_id: int = secrets.migration_id if secrets is not None else migration_id  # type: ignore[assignment]  # not None without secrets: checked above
        self.memory = memory
        self.destination = destination
        self.workload = workload
        self.device_state = bytes(device_state)
        self.disks = tuple(d if isinstance(d, DiskFile) else DiskFile(d) for d in disks)
        self.options = options or MigrationOptions()
        self.encrypted = secrets is not None
        self._secrets = secrets
        self._progress = progress
        self._switchover = switchover
        self._sock: socket.socket | None = None
        self._reader: FrameReader | None = None
        self._aborted: str | None = None
        self._deadline: float | None = None
        self._committed = False
        self._started = False
        self._max_throttle = 0.0
        self._round_trip = float("inf")   # the shortest wait for a round's ACK: the link's RTT, at most
        self._lock = threading.Lock()

    def abort(self, reason: str = "the migration was cancelled") -> None:
        """Ends the migration from another thread; the guest resumes on the source (unless END went out)."""
        with self._lock:
            self._aborted = reason
            sock = self._sock
        if sock is not None and not self._committed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> MigrationResult:
        """Migrates the memory; returns the result or raises the fault (the guest then runs here again)."""
        with self._lock:
            if self._started:
                raise InvalidState("this migration already ran", object=f"migration-{self.migration_id:016x}")
            self._started = True
        started = time.monotonic()
        writer: FrameWriter | None = None
        sealers: list[FrameSealer] = []
        digest: MemoryDigest | None = None
        try:
            checksum = CHECKSUMS.get(self.options.checkpoint_digest)
            if checksum is None:
                raise InvalidArgument(f"checkpoint_digest must be one of {', '.join(CHECKSUMS)}",
                                      argument="checkpoint_digest")
            if not checksum.size and self._secrets is None:
                raise InvalidArgument("a plaintext migration needs a checkpoint digest (ghash or sha256)",
                                      argument="checkpoint_digest")
            digest = MemoryDigest(self.memory.view(), self.memory.page_count, checksum)
            self._check_aborted()
            sock = self._connect()
            if self._secrets is not None:
                sealers = [FrameSealer(self._secrets, TO_DESTINATION), FrameSealer(self._secrets, TO_SOURCE),
                           FrameSealer(self._secrets, TO_DESTINATION | RUN_TABLES)]
            writer = FrameWriter(sock, self.migration_id, sealers[0] if sealers else None,
                                 table_sealer=sealers[2] if sealers else None,
                                 batch_bytes=self.options.frame_pages * PAGE_SIZE,
                                 bandwidth_limit_mbps=self.options.bandwidth_limit_mbps, before_send=self._check)
            self._reader = FrameReader(sock, peer="destination", buffer_bytes=64 << 10)
            self._reader.bind(self.migration_id, sealers[1] if sealers else None)
            return self._migrate(writer, digest, checksum.code, started)
        except Fault as fault:
            raise self._fail(fault, writer) from None
        except OSError as error:
            raise self._fail(connection_fault(error, "destination", self.migration_id), writer) from None
        except Exception as error:      # a bug, or a switchover hook that raised: still put the VM back on its feet
            raise self._fail(SystemError(f"the migration failed: {type(error).__name__}: {error}",
                                         object=f"migration-{self.migration_id:016x}"), writer) from error
        finally:
            if digest is not None:
                digest.release()
            for sealer in sealers:
                sealer.close()
            if writer is not None:
                writer.close()
            if self._reader is not None:
                self._reader.close()
            if self._sock is not None:
                self._sock.close()
            if self._secrets is not None:
                self._secrets.wipe()
                self._secrets = None
            wipe_all(d.vsan for d in self.disks)

    # --- the phases --------------------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.destination, timeout=self.options.connect_timeout_s)
        tune_socket(sock)
        sock.settimeout(self.options.stream_timeout_s)
        with self._lock:
            self._sock = sock
        self._check_aborted()
        return sock

    def _migrate(self, writer: FrameWriter, digest: MemoryDigest, checksum_code: int, started: float) -> MigrationResult:
        memory, policy = self.memory, self.options.policy
        written = memory.begin_trace()
        writer.send_control(FrameKind.HELLO, HELLO.pack(checksum_code, memory.page_count, chunk_map(written)))
        pages_sent = 0
        round_no = 0
        throttle = 0.0
        sent = self._send_runs(writer, digest, written, with_zero_runs=True)
        zero_pages = memory.page_count - sent
        self._sync(writer, round_no)
        disk_digests, disk_bytes = self._send_disks(writer)
        while True:
            pages_sent += sent
            elapsed = time.monotonic() - started
            bandwidth = writer.bytes_sent / max(elapsed, 1e-6)
            stats = RoundStats(round_no, sent, memory.dirty_count(), bandwidth, throttle, self._round_trip)
            decision = policy.decide(stats)
            self._report(MigrationProgress(round_no, stats.pages_left, writer.bytes_sent, bandwidth / 1e6, throttle,
                                           decision.step))
            if decision.step is Step.SWITCHOVER:
                break
            if decision.throttle != throttle:
                throttle = decision.throttle
                self._max_throttle = max(self._max_throttle, throttle)
                if self.workload is not None:
                    self.workload.throttle(throttle)
            round_no += 1
            sent = self._send_runs(writer, digest, memory.collect_dirty())
            self._sync(writer, round_no)
        downtime, sent = self._switch_over(writer, digest, disk_digests)
        pages_sent += sent
        agreed = digest.digest()
        return MigrationResult(
            migration_id=self.migration_id, encrypted=self.encrypted, rounds=round_no + 1, bytes_sent=writer.bytes_sent,
            pages_sent=pages_sent, zero_pages=zero_pages, duration_s=time.monotonic() - started,
            downtime_ms=downtime * 1e3, digest_match=True, digest=agreed.hex(), throttle=self._max_throttle,
            forced_switchover=decision.forced, bandwidth_mbps=bandwidth / 1e6, disk_bytes=disk_bytes)

    def _send_runs(self, writer: FrameWriter, digest: MemoryDigest, page_map: PageMap, *,
                   with_zero_runs: bool = False) -> int:
        """The pages marked in ``page_map``, packed into PAGES frames; with ``with_zero_runs`` (round 0) the
        unmarked ones too, as zero runs between them. Returns the pages sent as bytes."""
        frame_pages = self.options.frame_pages
        packer = RunPacker(writer, FrameKind.PAGES, frame_pages, PAGE_SIZE)
        sent = end = 0
        with self.memory.view() as view:
            for first, count in page_map.runs():
                if with_zero_runs and first > end:
                    packer.add_zero(end, first - end)
                end = first + count
                sent += count
                while first < end:          # a frame's worth at a time: the digest reads pages still in cache
                    n = min(frame_pages, end - first)
                    packer.add(first, n, view[first * PAGE_SIZE:(first + n) * PAGE_SIZE])
                    digest.update(first, n)
                    first += n
            if with_zero_runs and end < self.memory.page_count:
                packer.add_zero(end, self.memory.page_count - end)
            packer.flush()
        return sent

    def _send_disks(self, writer: FrameWriter) -> tuple[bytes, int]:
        """The blocks of each disk that changes datastore; returns their digests (in order) and bytes."""
        digests, total = b"", 0
        for number, disk in enumerate(self.disks):
            disk_digest, sent = send_disk(writer, number, disk.path, disk.vsan)
            digests += disk_digest
            total += sent
        writer.flush()
        return digests, total

    def _sync(self, writer: FrameWriter, round_no: int) -> None:
        """Ends a round and waits until the destination applied it: the bandwidth measured is then end to end,
        and no backlog of earlier rounds is left in socket buffers to lengthen the stun."""
        writer.send_control(FrameKind.SYNC, ROUND.pack(round_no))
        asked = time.monotonic()
        self._read_ack(ACK_SYNCED)
        self._round_trip = min(self._round_trip, time.monotonic() - asked)

    def _switch_over(self, writer: FrameWriter, digest: MemoryDigest, disk_digests: bytes) -> tuple[float, int]:
        """Stun, last pages, checkpoint, verified ack, hand-over, END, resumed ack. Returns (downtime_s, pages)."""
        if self.workload is not None:
            self.workload.stun()
        stunned = time.monotonic()
        self._deadline = stunned + self.options.max_switchover_seconds
        sent = self._send_runs(writer, digest, self.memory.collect_dirty())
        source_digest = digest.digest()
        writer.send_control(FrameKind.CHECKPOINT, source_digest + disk_digests + self.device_state)
        if self._read_ack(ACK_VERIFIED) != source_digest:
            raise stream_fault("digest_mismatch", "the destination acknowledged a memory digest that differs from the "
                               "source's", self.migration_id)
        if self._switchover is not None:
            self._switchover(max(self._deadline - time.monotonic(), 0.0))
        self._check()
        writer.send_control(FrameKind.END)
        self._committed = True
        self._read_ack(ACK_RESUMED)
        return time.monotonic() - stunned, sent

    # --- helpers -----------------------------------------------------------------------------------

    def _read_ack(self, phase: int) -> bytes:
        """Waits (within the switchover deadline) for the destination's ACK of ``phase``; returns its digest."""
        assert self._reader is not None and self._sock is not None
        self._sock.settimeout(max(self._remaining(), 0.001))
        header, raw = self._reader.next_header()
        if header.kind is not FrameKind.ACK:
            raise stream_fault("unexpected_kind", f"the destination sent {header.kind.name} where an ACK was expected",
                               self.migration_id)
        payload = self._reader.read_payload(header, raw)
        if not payload or payload[0] != phase:
            raise stream_fault("unexpected_kind", "the destination acknowledged the wrong step", self.migration_id)
        return payload[1:]

    def _remaining(self) -> float:
        if self._deadline is None:
            return self.options.stream_timeout_s
        return self._deadline - time.monotonic()

    def _check(self) -> None:
        """Before each batch: cancelled? past the switchover limit? did the destination give up?"""
        self._check_aborted()
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise Timedout(f"the switchover exceeded max_switchover_seconds ({self.options.max_switchover_seconds:g} s); "
                           "the VM continues on the source", object=f"migration-{self.migration_id:016x}",
                           reason="switchover_timeout")
        sock = self._sock
        if sock is not None and select.select([sock], [], [], 0)[0]:
            self._raise_from_destination()

    def _raise_from_destination(self) -> None:
        """The destination spoke (or hung up) mid-stream: that is always the end; say why if it said."""
        assert self._reader is not None
        header, _ = self._reader.next_header()         # raises on ABORT, EOF or garbage
        raise stream_fault("unexpected_kind", f"the destination sent {header.kind.name} in the middle of the stream",
                           self.migration_id)

    def _check_aborted(self) -> None:
        if self._aborted is not None:
            raise RequestCanceled(self._aborted, object=f"migration-{self.migration_id:016x}")

    def _report(self, progress: MigrationProgress) -> None:
        if self._progress is not None:
            self._progress(progress)

    def _fail(self, fault: Fault, writer: FrameWriter | None) -> Fault:
        """Turns a failure into the fault to raise, after putting the VM back on its feet here."""
        if self._aborted is not None and not isinstance(fault, RequestCanceled):
            fault = RequestCanceled(self._aborted, object=f"migration-{self.migration_id:016x}")
        elif isinstance(fault, HostCommunication) and self._reader is not None:
            fault = self._reason_from_destination(fault)
        if self._committed:
            # END went out: the destination may be running the VM. Resuming here could make two copies.
            return SwitchoverUnconfirmed("the switchover was committed but the destination did not confirm the resume: "
                                         f"{fault.message}; the VM stays stunned on the source until its owner is known",
                                         object=fault.object, outcome="unknown")
        if writer is not None:
            writer.send_abort(abort_code(fault))
        if self.workload is not None:
            self.workload.throttle(0.0)
            self.workload.resume()
        return fault

    def _reason_from_destination(self, fault: Fault) -> Fault:
        """A broken pipe often hides an ABORT the destination sent first: read it if it is there."""
        assert self._reader is not None and self._sock is not None
        try:
            self._sock.settimeout(0.2)
            self._raise_from_destination()
        except MigrationFault as reason:
            return reason
        except Exception:
            pass
        return fault

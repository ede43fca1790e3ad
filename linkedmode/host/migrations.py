"""The host's side of vMotion: the engine driven by its vCenter's HostAgent calls.

Source: PrepareSource keeps the spec; MigrateVm runs pre-copy and switchover until the destination
holds a verified copy (READY), then waits, the guest stunned, for the vCenter's decision: Complete
(END goes out, the destination resumes, this copy is dropped) or Abort (the guest resumes here). A
vCenter that says nothing within max_switchover_seconds is an abort (row V4).
Destination: PrepareDestination expects the stream on the vMotion listener; a VM that arrives whole
runs here; one that does not is dropped. The keys live in MigrationSecrets, wiped at the end.
A source prepared but never started is dropped by the host's reaper after the host's
timeouts.prepared_expiry; when the host stops, every migration ends and its thread is waited for.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from ..crypto.secrets import MigrationSecrets
from ..model.faults import AlreadyExists, Fault, InvalidState, NotFound, PartKilled, RequestCanceled, SwitchoverUnconfirmed, Timedout
from ..model.migration import MigrationPhase, MigrationStep
from ..model.validation import host_port, number
from ..reaper import Reaper, Scheduled
from ..vmotion.convergence import PrecopyPolicy, Step
from ..vmotion.disks import DiskFile
from ..vmotion.link import Relay, ShapedLink
from ..vmotion.precopy import MigrationOptions, MigrationProgress, MigrationResult, OutgoingMigration
from ..vmotion.receiver import IncomingMigration, IncomingState, VMotionListener
from ..vmotion.tamper_relay import TamperRelay
from ..vmotion.vsan import wipe_all
from .state import HostState, HostVmConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MigrationSettings:
    switchover_goal_seconds: float = 0.5
    max_switchover_seconds: float = 100.0
    bandwidth_limit_mbps: float = 0.0      # 0: as fast as the link goes

    def __post_init__(self) -> None:
        number("settings.switchover_goal_seconds", self.switchover_goal_seconds, 0, 60)
        number("settings.max_switchover_seconds", self.max_switchover_seconds, 0, 3600)
        number("settings.bandwidth_limit_mbps", self.bandwidth_limit_mbps, 0, 1e6)


@dataclass
class Snapshot:
    """What a vCenter sees of a migration on this host."""

    migration_id: int
    phase: MigrationPhase
    round: int = 0
    pages_left: int = 0
    bytes_sent: int = 0
    mbps: float = 0.0
    throttle: float = 0.0
    stun_time: float = 0.0
    result: MigrationResult | None = None
    error: Fault | None = None
    resume_time: float = 0.0


def after_commit(step: Callable[[], None], attempts: int = 50, pause: float = 0.1) -> None:
    """A step after the switchover committed cannot give up: the VM must end on the destination and
    nowhere else. A failure there is retried (`attempts` times), then the step goes on regardless."""
    for _ in range(attempts):
        try:
            step()
            return
        except Fault as fault:
            if isinstance(fault, PartKilled):
                raise
            log.warning("after the switchover: %s; trying again", fault)
            time.sleep(pause)


class OutgoingVm:
    """One VM leaving this host."""

    def __init__(self, host: HostState, config: HostVmConfig, migration_id: int, secrets: MigrationSecrets | None,
                 destination: tuple[str, int], settings: MigrationSettings, disks: Sequence[DiskFile] = ()) -> None:
        self.host = host
        self.config = config
        self._secrets = secrets
        self.snapshot = Snapshot(migration_id, MigrationPhase.PREPARED)
        self.updates: queue.Queue[Snapshot | None] = queue.Queue()    # None: the vCenter stopped listening
        self._decision = threading.Event()
        self._commit = False
        self._done = threading.Event()
        self.unsettled = False     # END went out but the destination's resume was not confirmed
        self.relays: list[Relay] = []   # on the page stream's path: the link's distance, a fault rule's tampering
        self.expiry: Scheduled | None = None    # drops it if the page stream never starts
        guest = host.guest(config.instance_uuid)
        self._workload = guest.workload
        options = MigrationOptions(
            policy=PrecopyPolicy(switchover_goal_s=settings.switchover_goal_seconds),
            max_switchover_seconds=settings.max_switchover_seconds,
            bandwidth_limit_mbps=settings.bandwidth_limit_mbps or None,
            checkpoint_digest="authenticated" if secrets is not None else "ghash",
        )
        self.engine = OutgoingMigration(guest.memory, destination, secrets, migration_id=migration_id,
                                        workload=guest.workload, options=options, progress=self._progress,
                                        switchover=self._await_decision, disks=disks)
        self._thread: threading.Thread | None = None

    @property
    def migration_id(self) -> int:
        return self.snapshot.migration_id

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise InvalidState(f"migration {self.migration_id:016x} has already started", object=self.config.instance_uuid)
        if self.expiry is not None:
            self.expiry.cancel()
        self._thread = threading.Thread(target=self._run, name=f"vmotion-out-{self.migration_id:016x}", daemon=True)
        self._thread.start()

    def decide(self, commit: bool, reason: str = "") -> Snapshot:
        """The vCenter's word after READY (or an abort at any time); waits for the migration to end.
        For an unsettled migration it is the answer to "who runs the VM": commit drops the stunned copy
        here, abort resumes it."""
        if self.unsettled:
            return self._settle(commit, reason)
        self._signal(commit, reason)
        self._done.wait()
        return self.snapshot

    def close(self, reason: str) -> None:
        """The host goes away: the migration ends now, without waiting for its thread (see `join`)."""
        self._signal(False, reason)

    def join(self, timeout: float) -> None:
        """Waits (at most `timeout`) for the migration's thread to end."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _signal(self, commit: bool, reason: str) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        if not commit:
            self.engine.abort(reason or "the vCenter aborted the migration")
        self._commit = commit
        self._decision.set()
        if self._thread is None and not self._done.is_set():
            self._set(MigrationPhase.ABORTED, error=RequestCanceled(reason or "aborted before it started"))
            if self._secrets is not None:
                self._secrets.wipe()
            wipe_all(d.vsan for d in self.engine.disks)
            for relay in self.relays:
                relay.close()
            self._done.set()

    def _settle(self, moved: bool, reason: str) -> Snapshot:
        self.unsettled = False
        if moved:
            self.host.drop(self.config.instance_uuid)
            self._set(MigrationPhase.COMPLETED, resume_time=time.time())
        else:
            self._workload.resume()
            self._set(MigrationPhase.ABORTED, error=RequestCanceled(reason or "the VM stays on the source"))
        return self.snapshot

    def _await_decision(self, seconds_left: float) -> None:
        self.host.faults.at(MigrationStep.FINAL_PAGES, self.config.name)
        self._set(MigrationPhase.READY)
        if not self._decision.wait(seconds_left):
            raise Timedout(f"no switchover decision from the vCenter within max_switchover_seconds; "
                           f"{self.config.name} continues on the source", object=self.config.instance_uuid)
        if not self._commit:
            raise RequestCanceled("the vCenter aborted the migration at switchover", object=self.config.instance_uuid)

    def _progress(self, progress: MigrationProgress) -> None:
        phase = MigrationPhase.SWITCHOVER if progress.phase is Step.SWITCHOVER else MigrationPhase.PRECOPY
        self.host.faults.at(MigrationStep.PRECOPY_ROUND, self.config.name)      # every report ends a round
        if phase is MigrationPhase.SWITCHOVER:
            self.host.faults.at(MigrationStep.STUN, self.config.name)
        self._set(phase, round=progress.round, pages_left=progress.pages_left, bytes_sent=progress.bytes_sent,
                  mbps=progress.bandwidth_mbps, throttle=progress.throttle,
                  stun_time=time.time() if phase is MigrationPhase.SWITCHOVER else 0.0)

    def _run(self) -> None:
        try:
            result = self.engine.run()
        except Fault as fault:
            self.unsettled = isinstance(fault, SwitchoverUnconfirmed)
            self._set(MigrationPhase.ABORTED if isinstance(fault, RequestCanceled) else MigrationPhase.FAILED, error=fault)
        except Exception as error:   # a bug: the VM must still be safe here
            log.exception("migration %016x failed", self.migration_id)
            self._set(MigrationPhase.FAILED, error=Fault(f"internal error: {type(error).__name__}"))
        else:
            after_commit(lambda: self.host.faults.at(MigrationStep.SOURCE_CLEANUP, self.config.name))
            self.host.drop(self.config.instance_uuid)
            self._set(MigrationPhase.COMPLETED, result=result, resume_time=time.time())
        finally:
            for relay in self.relays:
                relay.close()
            self._done.set()

    def _set(self, phase: MigrationPhase, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self.snapshot, key, value)
        self.snapshot.phase = phase
        self.updates.put(Snapshot(**self.snapshot.__dict__))


@dataclass
class IncomingVm:
    config: HostVmConfig
    engine: IncomingMigration
    snapshot: Snapshot
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class HostMigrations:
    """Every migration this host takes part in, by migration id."""

    def __init__(self, host: HostState, listener: VMotionListener, advertised_host: str, reaper: Reaper) -> None:
        self.host = host
        self.listener = listener
        self.reaper = reaper
        self.timeouts = host.spec.timeouts
        self.vmotion_address = f"{advertised_host}:{listener.address[1]}"
        self._outgoing: dict[int, OutgoingVm] = {}
        self._incoming: dict[int, IncomingVm] = {}
        self._lock = threading.Lock()

    # -- destination -----------------------------------------------------------------------------

    def prepare_destination(self, config: HostVmConfig, migration_id: int, secrets: MigrationSecrets | None,
                            disks: Sequence[DiskFile] = ()) -> str:
        """``disks``: the file (with its size and its datastore's vSAN layer) of each disk that arrives on
        the stream (it changes datastore)."""
        try:
            if self.host.has(config.instance_uuid):
                raise AlreadyExists(f"host {self.host.name} already holds {config.name}", object=config.instance_uuid)
            self.host.check_fits(config)
            engine = self.listener.prepare(secrets, config.memory_mb, migration_id, disks=disks)
        except BaseException:
            if secrets is not None:
                secrets.wipe()
            wipe_all(d.vsan for d in disks)
            raise
        incoming = IncomingVm(config, engine, Snapshot(migration_id, MigrationPhase.PREPARED))
        incoming.thread = threading.Thread(target=self._receive, args=(incoming,), name=f"vmotion-in-{migration_id:016x}", daemon=True)
        with self._lock:
            self._incoming[migration_id] = incoming
        incoming.thread.start()
        return self.vmotion_address

    def _receive(self, incoming: IncomingVm) -> None:
        try:
            memory = incoming.engine.wait()
            after_commit(lambda: self.host.faults.at(MigrationStep.RESUME, incoming.config.name))
            self.host.adopt(incoming.config, memory)
            resumed = time.time()
            config = incoming.config     # it runs here now: the network learns where its MACs are (row V7)
            self.host.network.announce(config.instance_uuid, config.name, config.mac_addresses, incoming.snapshot.migration_id)
            incoming.snapshot.phase, incoming.snapshot.resume_time = MigrationPhase.COMPLETED, resumed
        except Fault as fault:
            failed = MigrationPhase.ABORTED if isinstance(fault, RequestCanceled) else MigrationPhase.FAILED
            incoming.snapshot.phase, incoming.snapshot.error = failed, fault
        finally:
            incoming.done.set()
            with self._lock:
                self._incoming.pop(incoming.snapshot.migration_id, None)

    # -- source ----------------------------------------------------------------------------------

    def prepare_source(self, config: HostVmConfig, migration_id: int, secrets: MigrationSecrets | None,
                       destination: str, settings: MigrationSettings, disks: Sequence[DiskFile] = ()) -> None:
        """``disks``: the files of the disks that change datastore (with their datastores' vSAN layers),
        sent after the first pre-copy round."""
        relays: list[Relay] = []
        try:
            address = host_port("destination_vmotion_address", destination)
            link = self.host.spec.vmotion.link
            if link.shaped:   # the distance to the destination (row V6)
                relays.append(ShapedLink(address, link.rtt_ms / 1000, link.rate_mbit * 125_000))
                address = relays[-1].address
            tamper = self.host.faults.frame_tamper(config.name)
            if tamper:
                relays.append(TamperRelay(address, tamper))
                address = relays[-1].address
            with self._lock:
                if migration_id in self._outgoing:
                    raise AlreadyExists(f"migration {migration_id:016x} is already prepared here", object=config.instance_uuid)
                if any(o.config.instance_uuid == config.instance_uuid for o in self._outgoing.values()):
                    raise InvalidState(f"{config.name} is already migrating", object=config.instance_uuid)
                outgoing = OutgoingVm(self.host, config, migration_id, secrets, address, settings, disks)
                outgoing.relays = relays
                outgoing.expiry = self.reaper.after(self.timeouts.prepared_expiry, lambda: self._expire(migration_id),
                                                    name=f"prepared-expiry-{migration_id:016x}")
                self._outgoing[migration_id] = outgoing
        except BaseException:
            if secrets is not None:
                secrets.wipe()
            wipe_all(d.vsan for d in disks)
            for relay in relays:
                relay.close()
            raise

    def _expire(self, migration_id: int) -> None:
        """A source prepared but never started (its vCenter went away): drop it and wipe its key."""
        with self._lock:
            outgoing = self._outgoing.get(migration_id)
        if outgoing is not None and not outgoing.started:
            log.warning("migration %016x was prepared but never started: dropped", migration_id)
            self.abort(migration_id, f"not started within {self.timeouts.prepared_expiry:g} s of being prepared")

    def migrate(self, migration_id: int,
                on_caller_gone: Callable[[Callable[[], None]], bool] = lambda callback: True) -> Iterator[Snapshot]:
        """Starts the page stream; yields snapshots until READY or the end. `on_caller_gone` registers a
        callback for when the caller stops listening (grpc's context.add_callback): then this ends at
        once, and the migration goes on (its vCenter decides later, or max_switchover_seconds does)."""
        outgoing = self._outgoing_vm(migration_id)
        if not on_caller_gone(lambda: outgoing.updates.put(None)):
            return
        outgoing.start()
        while True:
            snapshot = outgoing.updates.get()
            if snapshot is None:
                return
            yield snapshot
            if snapshot.phase is MigrationPhase.READY or snapshot.phase.ended:
                if snapshot.phase is not MigrationPhase.READY and not outgoing.unsettled:
                    self._forget(migration_id)
                return

    def complete(self, migration_id: int, wait: float | None = None) -> Snapshot:
        """Commits an outgoing migration; for an arrival, waits for it to end (at most `wait`, the
        caller's deadline, and never beyond `arrival_end`) and says how it stands."""
        with self._lock:
            outgoing = self._outgoing.get(migration_id)
            incoming = self._incoming.get(migration_id)
        if outgoing is not None:
            try:
                return outgoing.decide(True)
            finally:
                if not outgoing.unsettled:
                    self._forget(migration_id)
        if incoming is not None:
            incoming.done.wait(self.timeouts.arrival_end if wait is None else min(wait, self.timeouts.arrival_end))
            return incoming.snapshot
        raise NotFound(f"no migration {migration_id:016x} on host {self.host.name}", object=f"{migration_id:016x}")

    def abort(self, migration_id: int, reason: str) -> Snapshot:
        with self._lock:
            outgoing = self._outgoing.get(migration_id)
            incoming = self._incoming.get(migration_id)
        if outgoing is not None:
            try:
                return outgoing.decide(False, reason)
            finally:
                if not outgoing.unsettled:
                    self._forget(migration_id)
        if incoming is not None:
            incoming.engine.abort(reason or "the vCenter aborted the migration")
            incoming.done.wait(self.timeouts.arrival_end)
            return incoming.snapshot
        return Snapshot(migration_id, MigrationPhase.ABORTED)   # nothing here (any more): nothing to undo

    def leaving(self, instance_uuid: str) -> bool:
        """Whether a migration of this VM away from this host is under way (it holds the guest)."""
        with self._lock:
            return any(o.config.instance_uuid == instance_uuid for o in self._outgoing.values())

    def keys_held(self) -> int:
        """Migration keys this host still holds (each migration wipes its own when it ends)."""
        with self._lock:
            outgoing = [o._secrets for o in self._outgoing.values()]
        incoming = [i._secrets for i in self.listener.migrations]
        return sum(1 for s in outgoing + incoming if s is not None and not s.wiped)

    def snapshots(self) -> list[Snapshot]:
        """Every migration here; an arrival whose END came reads COMPLETED: the VM is this host's, even
        while it is still being started."""
        with self._lock:
            incoming = [replace(i.snapshot, phase=MigrationPhase.COMPLETED) if i.engine.state == IncomingState.RESUMED else i.snapshot
                        for i in self._incoming.values()]
            return [o.snapshot for o in self._outgoing.values()] + incoming

    def close(self, join_seconds: float = 5.0) -> None:
        """Every migration here ends with the host; their threads are waited for (at most `join_seconds` each)."""
        with self._lock:
            outgoing = list(self._outgoing.values())
            incoming = list(self._incoming.values())
            self._outgoing.clear()
        for o in outgoing:
            o.close("the host is shutting down")
        self.listener.close()
        for o in outgoing:
            o.join(join_seconds)
        for i in incoming:
            if i.thread is not None and i.thread is not threading.current_thread():
                i.thread.join(join_seconds)

    def _outgoing_vm(self, migration_id: int) -> OutgoingVm:
        with self._lock:
            outgoing = self._outgoing.get(migration_id)
        if outgoing is None:
            raise NotFound(f"no migration {migration_id:016x} is prepared on host {self.host.name}", object=f"{migration_id:016x}")
        return outgoing

    def _forget(self, migration_id: int) -> None:
        with self._lock:
            outgoing = self._outgoing.pop(migration_id, None)
        if outgoing is not None and outgoing.expiry is not None:
            outgoing.expiry.cancel()

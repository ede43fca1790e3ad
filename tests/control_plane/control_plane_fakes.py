"""Fakes for the vCenter's migration control plane: a vCenter's parts over a real in-memory state, hosts
that answer from a script, and a destination vCenter that answers from a script. No gRPC, no sockets.

Every fake records the calls it gets, so that a test can say which side was asked what.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import yaml

from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import Credential
from linkedmode.kms.providers import KeyProviders
from linkedmode.migration.ports import VCenterParts
from linkedmode.migration.slots import VMotionSlots
from linkedmode.migration.spec import (
    Arrival,
    HostOutcome,
    HostProgress,
    MigrationSpec,
    MigrationTarget,
    TargetHost,
)
from linkedmode.model.events import Event
from linkedmode.model.fault_rules import FaultInjector
from linkedmode.model.faults import Fault, HostNotConnected, NotFound
from linkedmode.model.inventory import Datastore, Host, ManagedObject, Vm
from linkedmode.model.migration import MigrationPhase, MovePriority, StreamFigures
from linkedmode.model.settings import PowerState
from linkedmode.model.tasks import Task, TaskState
from linkedmode.reaper import Reaper
from linkedmode.topology import parse_topology
from linkedmode.topology.spec import VCenterSpec, VCenterTimeouts
from linkedmode.vcenter.datastores import DatastoreFolders
from linkedmode.vcenter.peers import PeerInfo
from linkedmode.vcenter.seed import seed_inventory
from linkedmode.vcenter.state import VCenterState
from linkedmode.vcenter.store import InventoryStore, JournalEntry

# Two 1 GbE hosts (4 vMotions each) that can encrypt, one without AES-NI that cannot (row E4; a 7.0
# vCenter manages no ESXi 6.0, row X8).
TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters:
              - name: cluster-a
                hosts:
                  - {name: esx-1, version: 7.0.3, vmotion: {bandwidth: 1GbE}}
                  - {name: esx-2, version: 7.0.3, vmotion: {bandwidth: 1GbE}}
                  - {name: esx-old, version: 7.0.3, aes_ni: false}
            datastores:
              - {name: ds-shared}
              - {name: ds-other}
            networks: [{name: VM Network}]
            vms:
              - {name: vm-hot, host: esx-1, memory_mb: 64, disks: [{datastore: ds-shared, capacity_mb: 1}], nics: [{network: VM Network}]}
              - {name: vm-required, host: esx-1, memory_mb: 64, migrate_encryption: required,
                 disks: [{datastore: ds-shared, capacity_mb: 1}], nics: [{network: VM Network}]}
              - {name: vm-disabled, host: esx-1, memory_mb: 64, migrate_encryption: disabled,
                 disks: [{datastore: ds-shared, capacity_mb: 1}], nics: [{network: VM Network}]}
              - {name: vm-two, host: esx-2, memory_mb: 64, disks: [{datastore: ds-shared, capacity_mb: 1}], nics: [{network: VM Network}]}
              - {name: vm-cold, host: esx-1, memory_mb: 64, power_state: poweredOff,
                 disks: [{datastore: ds-shared, capacity_mb: 1}], nics: [{network: VM Network}]}
"""

# Small enough that nothing in a test waits long, large enough that nothing expires by accident.
TIMEOUTS = VCenterTimeouts(host_call=1.0, host_heartbeat=0.5, peer_call=1.0, switchover_goal=0.5, max_switchover=1.0,
                           migration=5.0, resume_wait=0.2, arrival_expiry=30.0, reservation_expiry=30.0,
                           slot_retry=0.01, settle_interval=30.0)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition") -> None:
    """Polls `condition` until it holds; fails the test after `timeout` seconds (a busy machine is slow, not stuck)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(0.005)


@contextmanager
def reaper_held(reaper: Reaper) -> Iterator[None]:
    """Keeps the reaper's one thread busy for the block: nothing scheduled runs inside it, whatever the
    machine's speed; what fell due meanwhile runs once it ends."""
    running, release = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        release.wait(10.0)

    reaper.after(0.0, hold, name="held by the test")
    assert running.wait(5.0), "the reaper did not start"
    try:
        yield
    finally:
        release.set()


def reaper_drained(reaper: Reaper) -> None:
    """Returns once everything the reaper had due has run (its one thread runs work in order)."""
    done = threading.Event()
    reaper.after(0.0, done.set, name="drained")
    assert done.wait(5.0), "the reaper did not get to the end of its due work"


def answer(value: object) -> object:
    """A scripted answer: a Fault is raised, anything else returned."""
    if isinstance(value, Fault):
        raise value
    return value


# -- the vCenter ----------------------------------------------------------------------------------


class RecordingState(VCenterState):
    """The real state, also keeping every state each task went through (a watcher could miss one)."""

    def __init__(self, name: str, store: InventoryStore) -> None:
        super().__init__(name, store)
        self.task_states: dict[str, list[TaskState]] = {}
        self.task_details: dict[str, list[str]] = {}

    def update(self, *, put: Iterable[ManagedObject] = (), delete: Iterable[str] = (), events: Iterable[Event] = (),
               tasks: Iterable[Task] = (), meta: dict[str, str] | None = None, journal: Iterable[JournalEntry] = (),
               journal_done: Iterable[tuple[str, int]] = ()) -> list[Event]:
        tasks = list(tasks)
        for task in tasks:
            seen = self.task_states.setdefault(task.key, [])
            if not seen or seen[-1] != task.state:
                seen.append(task.state)
            self.task_details.setdefault(task.key, []).append(task.progress_detail)
        return super().update(put=put, delete=delete, events=events, tasks=tasks, meta=meta, journal=journal,
                              journal_done=journal_done)


@functools.cache
def vcenter_spec() -> VCenterSpec:
    """TOPOLOGY's one vCenter (parsed once: the spec is frozen)."""
    return parse_topology(yaml.safe_load(TOPOLOGY), "control plane tests").sso_domains[0].vcenters[0]


class FakeParts:
    """A vCenter as its migrations see it (`ports.VCenterParts`): a real state seeded from TOPOLOGY,
    real datastore folders, fault injector, slots and reaper; fake hosts; no peers."""

    domain = "vsphere.local"
    version = "7.0.3"
    key_providers = ("native-key-provider",)

    def __init__(self, root: Path, timeouts: VCenterTimeouts = TIMEOUTS, store: str = ":memory:") -> None:
        spec = vcenter_spec()
        self.name = spec.name
        self.instance_uuid = "5a1d0c9e-0000-4000-8000-00000000000a"
        self.state = RecordingState(spec.name, InventoryStore(store))
        self.state.update(meta={"instance_uuid": self.instance_uuid})
        self.datastores = DatastoreFolders(root / "datastores")
        seed_inventory(self.state, spec, {}, self.datastores)
        self.hosts = FakeHosts()
        for vm in self.state.all(Vm):
            if vm.power_state == PowerState.POWERED_ON:
                self.hosts.agent(self.state.get(vm.host, Host)).running_vms[vm.instance_uuid] = PowerState.POWERED_ON
        self.faults = FaultInjector(spec.name)
        self.slots = VMotionSlots()
        self.reaper = Reaper(spec.name)
        self.credential = Credential(Identity(self.domain, "vcenter", spec.name), b"", b"", b"")   # never used: no peers
        self.keys = KeyProviders(spec.name, root / "key-providers", native=self.key_providers)
        self.timeouts = timeouts
        self.alive = True
        self.blocked: list[str] = []

    @property
    def vc(self) -> VCenterParts:
        """This fake as the migration code takes it (mypy: its `hosts` and `state` are not the declared classes)."""
        return cast(VCenterParts, self)

    def peers(self) -> list[PeerInfo]:
        return []

    def block_macs(self, macs: list[str]) -> None:
        self.blocked += macs

    # -- for the tests ---------------------------------------------------------------------------

    def vm(self, name: str) -> Vm:
        return self.state.find(Vm, name=name)

    def host(self, name: str) -> Host:
        return self.state.find(Host, name=name)

    def agent(self, name: str) -> FakeHostAgent:
        return self.hosts.agent(self.host(name))

    def disk_file(self, vm: Vm) -> str:
        """The file of the VM's first disk, on the datastore the inventory says."""
        disk = vm.disks[0]
        return self.datastores.disk_path(self.state.get(disk.datastore, Datastore).name, vm.name, disk)

    def event_types(self, vm: Vm) -> list[str]:
        return [e.type for e in self.state.events(vm=vm.moid)]

    def close(self) -> None:
        self.reaper.stop()
        self.state.close()
        self.state.store.close()


# -- hosts ----------------------------------------------------------------------------------------

READY_AFTER_TWO_ROUNDS = (
    HostProgress(0, MigrationPhase.PRECOPY, round=1, pages_left=1000, mbps=900.0),
    HostProgress(0, MigrationPhase.PRECOPY, round=2, pages_left=100, mbps=900.0),
    HostProgress(0, MigrationPhase.READY, round=3),
)
FIGURES = StreamFigures(encrypted=True, rounds=3, bytes_sent=4 << 20, pages_sent=1100, zero_pages=10, duration_ms=12.5,
                        max_throttle=0.0, downtime_ms=3.0, disk_bytes=1 << 20)


class FakeHostAgent:
    """One ESXi host as `HostAgentClient` shows it, answering from a script.

    `fail[method]`: faults raised by the next calls of that method, one per call. `down`: every call
    fails as an unreachable host does. `progress`: what `migrate` reports (`during_stream` runs before
    each report). The hosts' `expect_key`: whether the specs a host gets must carry a key (the test
    says; a spec that comes unannounced fails)."""

    def __init__(self, name: str, hosts: FakeHosts) -> None:
        self.name = name
        self._hosts = hosts
        self.running_vms: dict[str, PowerState] = {}
        self.phases: dict[int, MigrationPhase] = {}
        self.specs: dict[int, MigrationSpec] = {}
        self.keys: dict[int, bytes] = {}
        self.calls: list[tuple[object, ...]] = []
        self.fail: dict[str, list[Fault]] = {}
        self.down = False
        self.progress: tuple[HostProgress, ...] = READY_AFTER_TWO_ROUNDS
        self.during_stream: Callable[[], None] | None = None     # runs before each progress report
        self.outcome = HostOutcome(MigrationPhase.COMPLETED, FIGURES)
        # As a destination: None, the VM resumes as END arrives; else END finds it still starting, and this
        # runs while a CompleteMigration call waits for the arrival to end (it may resume the VM, or not).
        self.resumes_late: Callable[[FakeHostAgent, int], None] | None = None
        self.waits: list[float | None] = []                      # the timeout of each such wait

    def resume(self, migration_id: int, instance_uuid: str) -> None:
        """The arrival of `migration_id` ends here with the VM running."""
        self.running_vms[instance_uuid] = PowerState.POWERED_ON
        self.phases[migration_id] = MigrationPhase.COMPLETED

    def _enter(self, method: str, *args: object) -> None:
        self.calls.append((method, *args))
        if self.down:
            raise HostNotConnected(f"host {self.name} does not answer", object=self.name)
        faults = self.fail.get(method)
        if faults:
            raise faults.pop(0)

    def called(self, *methods: str) -> list[str]:
        """The names of the calls made, of `methods` only when given."""
        return [str(c[0]) for c in self.calls if not methods or c[0] in methods]

    def _take_spec(self, spec: MigrationSpec) -> None:
        expect = self._hosts.expect_key
        assert expect is not None, f"{self.name} got a spec while the test said nothing of its key"
        assert spec.encrypted == expect, f"{self.name} got a spec {'with' if spec.encrypted else 'without'} a key"
        if spec.secrets is not None:
            assert not spec.secrets.wiped and len(spec.secrets.key) == 32 and any(spec.secrets.key), "the key came wiped"
        self.specs[spec.migration_id] = spec
        self.phases[spec.migration_id] = MigrationPhase.PREPARED
        if spec.secrets is not None:            # what a host holds, for tests that look for it where it must not be
            self.keys[spec.migration_id] = bytes(spec.secrets.key) + bytes(spec.secrets.nonce_bytes)

    def about(self, timeout: float | None = None) -> None:
        self._enter("about")

    def running(self) -> dict[str, PowerState]:
        self._enter("running")
        return dict(self.running_vms)

    def migrations(self) -> dict[int, MigrationPhase]:
        self._enter("migrations")
        return dict(self.phases)

    def register(self, vm: Vm) -> None:
        self._enter("register", vm.name)
        self.running_vms.setdefault(vm.instance_uuid, PowerState.POWERED_OFF)

    def unregister(self, vm: Vm) -> None:
        self._enter("unregister", vm.name)
        self.running_vms.pop(vm.instance_uuid, None)

    def power_on(self, vm: Vm) -> None:
        self._enter("power_on", vm.name)
        self.running_vms[vm.instance_uuid] = PowerState.POWERED_ON

    def power_off(self, vm: Vm) -> None:
        self._enter("power_off", vm.name)
        self.running_vms[vm.instance_uuid] = PowerState.POWERED_OFF

    def prepare_destination(self, spec: MigrationSpec) -> str:
        self._enter("prepare_destination", spec.migration_id)
        self._take_spec(spec)
        return f"{self.name}.vmotion:8000"

    def prepare_source(self, spec: MigrationSpec, destination_vmotion_address: str) -> None:
        self._enter("prepare_source", spec.migration_id, destination_vmotion_address)
        self._take_spec(spec)

    def migrate(self, migration_id: int, timeout: float) -> Iterator[HostProgress]:
        self._enter("migrate", migration_id)
        for progress in self.progress:
            if self.during_stream is not None:
                self.during_stream()
            self.phases[migration_id] = progress.phase
            yield replace(progress, migration_id=migration_id)

    def complete(self, migration_id: int, timeout: float | None = None) -> HostOutcome:
        """The source host sends END and drops its copy of the VM; a destination host of this vCenter resumes it."""
        self._enter("complete", migration_id)
        if migration_id not in self.phases:
            raise NotFound(f"no migration {migration_id:016x} on {self.name}", object=self.name)
        spec = self.specs.get(migration_id)
        if spec is not None and spec.destination_host == self.name != spec.source_host:
            # a destination host waits for its arrival to end, then says how it ended
            self.waits.append(timeout)
            if self.resumes_late is not None and self.phases[migration_id] != MigrationPhase.COMPLETED:
                self.resumes_late(self, migration_id)
            return HostOutcome(self.phases[migration_id])
        self.phases[migration_id] = self.outcome.phase
        if self.outcome.phase == MigrationPhase.COMPLETED and spec is not None:
            self.running_vms.pop(spec.vm.instance_uuid, None)
            destination = self._hosts.agents.get(spec.destination_host)
            if destination is not None and destination is not self and destination.resumes_late is None:
                destination.resume(migration_id, spec.vm.instance_uuid)
            elif destination is not None and destination is not self:
                destination.phases[migration_id] = MigrationPhase.SWITCHOVER   # END on its way, the VM not started yet
        return self.outcome

    def abort(self, migration_id: int, reason: str) -> HostOutcome:
        self._enter("abort", migration_id)
        if migration_id not in self.phases:
            raise NotFound(f"no migration {migration_id:016x} on {self.name}", object=self.name)
        self.phases[migration_id] = MigrationPhase.ABORTED
        return HostOutcome(MigrationPhase.ABORTED)


class FakeHosts:
    """`HostConnections` for FakeHostAgents: one agent per host name, made on first use."""

    def __init__(self) -> None:
        self.agents: dict[str, FakeHostAgent] = {}
        self.expect_key: bool | None = None

    def agent(self, host: Host) -> FakeHostAgent:
        return self.agents.setdefault(host.name, FakeHostAgent(host.name, self))

    def calls(self) -> dict[str, list[str]]:
        """Every host's calls by name (hosts never called left out)."""
        return {name: agent.called() for name, agent in self.agents.items() if agent.calls}


# -- the destination vCenter ----------------------------------------------------------------------

TARGET = TargetHost("host-901", "esx-b1", "7.0.3", aes_ni=True, encrypted_vmotion_supported=True,
                    max_concurrent_vmotions=8, datacenter="dc-b")
OLD_TARGET = TargetHost("host-902", "esx-b-old", "6.0.0", aes_ni=True, encrypted_vmotion_supported=False,
                        max_concurrent_vmotions=8, datacenter="dc-b")
MOID_THERE = "vm-900"


class FakeDestination:
    """The `Destination` protocol, answering from a script: `script(method, *answers)` gives the next
    answers of a method in order (the last one repeats; a Fault is raised). Every call is recorded."""

    def __init__(self, vcenter: str = "vc-b", remote: bool = True, host: TargetHost = TARGET, version: str = "7.0.3") -> None:
        self.vcenter = vcenter
        self.version = version
        self.remote = remote
        self.calls: list[tuple[object, ...]] = []
        self.specs: list[MigrationSpec] = []
        self._answers: dict[str, list[object]] = {
            "check": [host], "reserve": [True], "prepare": ["esx-b1.vmotion:8000"], "commit": [MOID_THERE],
            "finish": [MOID_THERE], "abort": [None], "state": [(MigrationPhase.UNKNOWN, False)],
        }

    def script(self, method: str, *answers: object) -> None:
        assert method in self._answers and answers, method
        self._answers[method] = list(answers)

    def called(self, *methods: str) -> list[str]:
        return [str(c[0]) for c in self.calls if not methods or c[0] in methods]

    def _next(self, method: str, *args: object) -> Any:
        self.calls.append((method, *args))
        answers = self._answers[method]
        return answer(answers.pop(0) if len(answers) > 1 else answers[0])

    def check(self, arrival: Arrival, target: MigrationTarget) -> TargetHost:
        return cast(TargetHost, self._next("check", target.host))

    def reserve(self, migration_id: int, arrival: Arrival, target: MigrationTarget,
                priority: MovePriority = MovePriority.DEFAULT) -> bool:
        return cast(bool, self._next("reserve", migration_id))

    def prepare(self, migration_id: int, arrival: Arrival, target: MigrationTarget, spec: MigrationSpec | None,
                disk_keys: tuple[bytes, ...] = ()) -> str:
        if spec is not None:
            assert spec.secrets is None or not spec.secrets.wiped, "the destination got a wiped key"
            self.specs.append(spec)
        return cast(str, self._next("prepare", migration_id))

    def commit(self, migration_id: int) -> str:
        return cast(str, self._next("commit", migration_id))

    def finish(self, migration_id: int, restart: bool = False) -> str:
        return cast(str, self._next("finish", migration_id, restart))

    def abort(self, migration_id: int, reason: str) -> None:
        self._next("abort", migration_id)

    def state(self, migration_id: int, instance_uuid: str, host: str) -> tuple[MigrationPhase, bool]:
        return cast("tuple[MigrationPhase, bool]", self._next("state", migration_id))

    def close(self) -> None:
        self.calls.append(("close",))

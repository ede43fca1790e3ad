"""What a scenario says, as typed values: its topology, its steps and what each step expects.

Parsing makes these (parse.py); running them is steps.py and runner.py; checking expectations is
expectations.py. Nothing here talks to an estate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ..model.fault_rules import FaultRule
from ..model.settings import MigrateEncryption
from ..topology.spec import Topology


class TaskState(StrEnum):
    SUCCESS = "success"
    ERROR = "error"


class Crossing(StrEnum):
    """How a migration crossed, in the words of its result (the mode used)."""

    ENCRYPTED = "encrypted"
    PLAINTEXT = "plaintext"     # the VM's setting asked for no encryption (or a cold move in the clear)
    FALLBACK = "fallback"       # opportunistic, and a host could not: plaintext


class Bound(StrEnum):
    BELOW = "below"
    ABOVE = "above"
    EQUALS = "equals"


@dataclass(frozen=True)
class Figure:
    """A number of a migration's result held to a bound: `downtime_ms: {below: 1000}`."""

    name: str
    bound: Bound
    value: float


@dataclass(frozen=True)
class TaskExpectation:
    """What a step's task must end with. Every field left None is not checked."""

    state: TaskState | None = TaskState.SUCCESS
    fault: str | None = None
    message_contains: str | None = None
    crossing: Crossing | None = None
    hot: bool | None = None
    vcenter: str | None = None
    host: str | None = None
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class CheckExpectation:
    """What CheckRelocate must answer: fault names among its errors and warnings, and its decision."""

    errors: tuple[str, ...] | None = ()       # None: not checked; (): none at all
    warnings: tuple[str, ...] | None = None
    hot: bool | None = None
    encrypted: bool | None = None


@dataclass(frozen=True)
class VmExpectation:
    """Where a VM is and what state it is in, seen through the API (and the parts, when the runner owns them)."""

    vm: str
    vcenter: str | None = None
    host: str | None = None
    power: str | None = None                   # on, off, suspended
    migrate_encryption: MigrateEncryption | None = None
    exactly_once: bool = False                 # in one inventory across the domain, held by one host
    absent: bool = False                       # in no inventory of the domain
    mac_addresses: tuple[str, ...] | None = None   # its NICs' MACs, in order (row X4: kept across vCenters)
    macs_blocked_on: str | None = None         # a vCenter whose block list holds every MAC of the VM (row X4)
    encrypted: bool | None = None              # VM encryption (its CryptoState)
    key_provider: str | None = None            # the provider its key comes from (implies encrypted)


@dataclass(frozen=True)
class EventExpectation:
    """Events posted on one vCenter (since the scenario began), about one VM or any."""

    vcenter: str
    vm: str | None = None
    seen: tuple[str, ...] = ()
    not_seen: tuple[str, ...] = ()
    one_chain: bool = False                    # every event seen of this VM shares one chainId (row V14)


@dataclass(frozen=True)
class HostExpectation:
    """What a host shows of itself (HostSystem)."""

    host: str
    encrypted_vmotion: bool | None = None      # HostCapability.encryptedVMotionSupported (row E12)
    aes_ni: bool | None = None
    connected: bool | None = None
    max_concurrent_vmotions: int | None = None


@dataclass(frozen=True)
class AnnouncementExpectation:
    """What a host announced on its network for a VM since the scenario began (row V7)."""

    host: str
    vm: str
    announced: bool = True      # True: one RARP frame per MAC of the VM, after its last move began; False: none


@dataclass(frozen=True)
class PerfExpectation:
    """What one vCenter's performance history holds of a VM (row X5). Every field left None is not checked."""

    vcenter: str
    vm: str
    samples: int = 0                           # at least this many (the step waits for them, PERF_WAIT at most)
    before_last_move: bool | None = None       # some sample is older than the VM's last move in the scenario
    left_behind: bool = False                  # the VM left this vCenter in its last move, and its samples from
                                               # before stayed here, under the moid it had here


@dataclass(frozen=True, kw_only=True)
class Step:
    number: str                                # "3", or "3.2" inside a parallel block
    label: str
    after: float = 0.0                         # seconds to wait before starting (to order steps of a parallel block)

    def title(self) -> str:
        return f"{self.number} {self.label}"


@dataclass(frozen=True, kw_only=True)
class TaskStep(Step):
    expect: TaskExpectation = TaskExpectation()


@dataclass(frozen=True, kw_only=True)
class Create(TaskStep):
    vm: str
    host: str
    datastore: str
    memory_mb: int
    disks_mb: tuple[int, ...] = ()
    networks: tuple[str, ...] = ()
    migrate_encryption: MigrateEncryption | None = None
    dirty_rate_mbps: float = 0.0
    working_set_mb: int = 0
    power_on: bool = False


@dataclass(frozen=True, kw_only=True)
class Power(TaskStep):
    vm: str
    on: bool


@dataclass(frozen=True, kw_only=True)
class SetEncryption(TaskStep):
    vm: str
    mode: MigrateEncryption


@dataclass(frozen=True, kw_only=True)
class Encrypt(TaskStep):
    vm: str
    key_provider: str = ""                     # "": the vCenter's default


@dataclass(frozen=True, kw_only=True)
class Decrypt(TaskStep):
    vm: str


@dataclass(frozen=True, kw_only=True)
class KeyProviderBackup(Step):
    """A Native Key Provider backed up from one vCenter and restored into another (row K3), under a
    password the runner makes in memory and never shows."""

    from_vcenter: str
    provider: str
    to_vcenter: str


@dataclass(frozen=True, kw_only=True)
class Snapshot(TaskStep):
    vm: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Destination:
    to_host: str
    to_vcenter: str | None = None
    datastore: str | None = None
    pool: str | None = None
    networks: dict[str, str] = field(default_factory=dict)
    locator: dict[str, str] = field(default_factory=dict)   # ServiceLocator fields given instead of GetAbout's (row X3)


@dataclass(frozen=True, kw_only=True)
class Migrate(TaskStep):
    vm: str
    to: Destination


@dataclass(frozen=True, kw_only=True)
class CheckRelocate(Step):
    vm: str
    to: Destination
    expect: CheckExpectation = CheckExpectation()


@dataclass(frozen=True, kw_only=True)
class AddFaultRule(Step):
    vcenter: str | None                        # whose Emulator takes it; None: the first vCenter
    rule: FaultRule


@dataclass(frozen=True, kw_only=True)
class ClearFaultRules(Step):
    vcenters: tuple[str, ...]                  # (): every vCenter


@dataclass(frozen=True, kw_only=True)
class Kill(Step):
    part: str


@dataclass(frozen=True, kw_only=True)
class Restart(Step):
    part: str


@dataclass(frozen=True, kw_only=True)
class Wait(Step):
    seconds: float = 0.0
    until: VmExpectation | None = None         # or: until this holds, at most `seconds`


@dataclass(frozen=True, kw_only=True)
class ExpectVm(Step):
    expect: VmExpectation


@dataclass(frozen=True, kw_only=True)
class ExpectHost(Step):
    expect: HostExpectation


@dataclass(frozen=True, kw_only=True)
class ExpectEvents(Step):
    expect: EventExpectation


@dataclass(frozen=True, kw_only=True)
class ExpectAnnouncements(Step):
    expect: AnnouncementExpectation


@dataclass(frozen=True, kw_only=True)
class ExpectPerf(Step):
    expect: PerfExpectation


@dataclass(frozen=True, kw_only=True)
class Parallel(Step):
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str                                # the file it came from
    topology: Topology
    topology_key: str                          # same key, same topology: runs may share one estate
    steps: tuple[Step, ...]
    domain: str = "vsphere.local"
    user: str = "administrator"
    description: str = ""
    directory: Path = Path(".")

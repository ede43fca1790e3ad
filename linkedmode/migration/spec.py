"""The values a migration is made of, on the vCenter side: where it goes, what the destination is
told, and the spec both hosts get (with the key, which is never journaled)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..crypto.secrets import MigrationSecrets
from ..model.encryption import HostEncryptionSupport
from ..model.faults import Fault
from ..model.inventory import Vm
from ..model.migration import MigrationPhase, MovePriority, StreamFigures
from ..model.validation import required, vm_resources


@dataclass(frozen=True)
class MigrationTarget:
    """Where a VM goes, as a RelocateSpec names it in the destination vCenter."""

    host: str
    datastore: str = ""
    pool: str = ""


@dataclass(frozen=True)
class LocatorCredential:
    """ServiceLocator.credential (ServiceLocatorNamePassword): a user of the target's SSO domain (row X7).
    Held only while the source logs in; its repr leaves the password out."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ServiceLocator:
    """RelocateSpec.service: another vCenter, named by instance UUID, URL and certificate thumbprint (row X3),
    with a credential when it is of another SSO domain (row X7)."""

    instance_uuid: str
    url: str
    ssl_thumbprint: str
    credential: LocatorCredential | None = None


@dataclass(frozen=True)
class NetworkChange:
    """RelocateSpec.deviceChange for one NIC: the network it joins at the destination (row V12)."""

    device: str                           # the NIC's label, "Network adapter 1"
    network: str                          # name or moid of a network in the target vCenter


@dataclass(frozen=True)
class RelocateRequest:
    target: MigrationTarget
    service: ServiceLocator | None = None
    priority: MovePriority = MovePriority.DEFAULT
    device_change: tuple[NetworkChange, ...] = ()


@dataclass(frozen=True)
class SourceNetwork:
    """The network a NIC leaves, as the source vCenter describes it (row V12)."""

    name: str
    switch_type: str = "standard"         # "standard" or "distributed"
    switch_version: str = ""              # a distributed switch's version


@dataclass(frozen=True)
class Arrival:
    """What a source tells the destination about the VM that comes (names are the source's)."""

    vm: Vm
    source_vcenter: str                   # "" inside one vCenter
    source_host: str
    disk_datastores: tuple[str, ...] = ()
    nic_networks: tuple[str, ...] = ()
    hot: bool = True
    encrypted: bool = False
    disk_paths: tuple[str, ...] = ()      # the file of each disk at the source
    chain_id: int = 0                     # the migration's first event at the source: the chain of its events
    # Per NIC, the network it leaves (row V12). The network each NIC joins is in `nic_networks`: the one
    # RelocateSpec.deviceChange names, else the source network's name.
    nic_sources: tuple[SourceNetwork, ...] = ()
    # The user of the destination's SSO domain a move from another domain runs as (row X7): its
    # events there name that user. Empty between linked vCenters.
    user: str = ""

    def __post_init__(self) -> None:
        required("vm.instance_uuid", self.vm.instance_uuid)
        required("vm.name", self.vm.name)
        vm_resources("vm.", self.vm.memory_mb, self.vm.num_cpu, self.vm.dirty_rate_mbps, self.vm.working_set_mb)

    @property
    def cross(self) -> bool:
        return bool(self.source_vcenter)


@dataclass(frozen=True)
class TargetHost:
    """The destination host as the destination vCenter describes it to the source."""

    moid: str
    name: str
    version: str
    aes_ni: bool
    encrypted_vmotion_supported: bool
    max_concurrent_vmotions: int
    datacenter: str

    @property
    def support(self) -> HostEncryptionSupport:
        return HostEncryptionSupport(self.name, self.encrypted_vmotion_supported, self.version, self.aes_ni)


@dataclass(frozen=True)
class DiskMove:
    """A disk that changes datastore: its file at the source, its new file at the destination (named by
    the destination vCenter, which owns those datastores). Each vCenter gives its own host the vSAN
    encryption key of its side's datastore (b"": not an encrypted vSAN datastore); neither key is given
    to the other side, nor journaled."""

    label: str
    capacity_mb: int
    source_path: str
    destination_path: str = ""
    source_key: bytes = field(default=b"", repr=False)
    destination_key: bytes = field(default=b"", repr=False)


@dataclass
class MigrationSpec:
    """What both hosts need for one hot migration. Holds the secrets: never journaled, wiped at the end.
    Only the host client turns it into a proto (and clears that proto once sent)."""

    migration_id: int
    vm: Vm
    source_host: str
    destination_host: str
    switchover_goal_seconds: float
    max_switchover_seconds: float
    secrets: MigrationSecrets | None = None
    disk_moves: tuple[DiskMove, ...] = ()

    @property
    def encrypted(self) -> bool:
        return self.secrets is not None

    def with_destination_paths(self, paths: dict[str, str], keys: dict[str, bytes] | None = None) -> MigrationSpec:
        """The same spec, each disk move given its new file (by label), and the vSAN key of the datastore
        that file is on (for the destination host only)."""
        moves = tuple(replace(m, destination_path=paths[m.label], destination_key=(keys or {}).get(m.label, b""))
                      for m in self.disk_moves)
        return replace(self, disk_moves=moves)

    def with_source_keys(self, keys: dict[str, bytes]) -> MigrationSpec:
        """The same spec, each disk move given the vSAN key of the datastore it leaves (by label), for the
        source host only."""
        return replace(self, disk_moves=tuple(replace(m, source_key=keys.get(m.label, b"")) for m in self.disk_moves))

    def wipe(self) -> None:
        if self.secrets is not None:
            self.secrets.wipe()

    def __repr__(self) -> str:
        return (f"MigrationSpec({self.migration_id:016x}, {self.vm.name}, {self.source_host} -> {self.destination_host}, "
                f"{'encrypted' if self.encrypted else 'plaintext'})")


@dataclass(frozen=True)
class HostProgress:
    """One report of the source host during a page stream."""

    migration_id: int
    phase: MigrationPhase
    round: int = 0
    pages_left: int = 0
    mbps: float = 0.0
    throttle: float = 0.0
    error: Fault | None = None


@dataclass(frozen=True)
class HostOutcome:
    """How a host says a migration ended: its phase, and on the source the stream's figures."""

    phase: MigrationPhase
    figures: StreamFigures | None = None
    error: Fault | None = None

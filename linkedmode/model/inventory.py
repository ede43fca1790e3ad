"""The inventory of one vCenter: plain values, persisted as JSON rows, translated to protos at the edge."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .cpu import DEFAULT_CPU
from .settings import MigrateEncryption, PowerState
from .versions import Version, encrypted_vmotion_supported, max_concurrent_vmotions

_SCALARS = frozenset((str, int, float, bool, type(None)))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}     # a cache of what dataclasses.fields says of each class


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value: Any) -> Any:
    """What dataclasses.asdict makes of a value, for the shapes the inventory holds (lists and dicts of
    plain values or of dataclasses), without its deep copies: a row is written at once, not kept."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    return value


@dataclass
class ManagedObject:
    kind: ClassVar[str] = ""
    moid: str
    name: str

    def to_row(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in _field_names(type(self))}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ManagedObject:
        return cls(**row)


@dataclass
class Datacenter(ManagedObject):
    kind: ClassVar[str] = "datacenter"


@dataclass
class Cluster(ManagedObject):
    kind: ClassVar[str] = "cluster"
    datacenter: str = ""
    hosts: list[str] = field(default_factory=list)
    evc_mode: str = ""                   # currentEVCModeKey; "": EVC off (row V10)


HOST_CONNECTED = "connected"
HOST_DISCONNECTED = "disconnected"
HOST_NOT_RESPONDING = "notResponding"

MAINTENANCE_ENTERING = "entering"        # being evacuated: it already takes no new VM
MAINTENANCE_IN = "inMaintenance"


@dataclass
class Host(ManagedObject):
    kind: ClassVar[str] = "host"
    version: str = "7.0.3"
    datacenter: str = ""
    cluster: str = ""
    aes_ni: bool = True
    memory_mb: int = 0
    vmotion_address: str = ""
    vmotion_bandwidth: str = "10GbE"
    agent_address: str = ""
    connection_state: str = HOST_CONNECTED
    datastores: list[str] = field(default_factory=list)
    cpu: str = DEFAULT_CPU               # maxEVCModeKey: the newest EVC mode its CPU supports (row V10)
    evc_mode: str = ""                   # its cluster's EVC mode; "": EVC off
    maintenance: str = ""                # MAINTENANCE_ENTERING or MAINTENANCE_IN; "": it takes VMs

    @property
    def current_evc_mode_key(self) -> str:
        """The CPU features it offers a VM: its cluster's EVC mode, else all its CPU has (row V10)."""
        return self.evc_mode or self.cpu

    @property
    def encrypted_vmotion_supported(self) -> bool:
        return encrypted_vmotion_supported(Version.parse(self.version), self.aes_ni)

    @property
    def in_maintenance_mode(self) -> bool:
        return bool(self.maintenance)

    @property
    def max_concurrent_vmotions(self) -> int:
        return max_concurrent_vmotions(self.vmotion_bandwidth)


@dataclass
class Datastore(ManagedObject):
    kind: ClassVar[str] = "datastore"
    type: str = "shared"
    encrypted: bool = False              # vSAN encryption (row D4): its files are ciphertext under its data key
    datacenter: str = ""
    capacity_mb: int = 0
    hosts: list[str] = field(default_factory=list)
    key_provider: str = ""               # vSAN encryption: the provider its data key is wrapped under
    key_id: str = ""
    key_safe: str = ""      # base64 of the datastore's data key wrapped under key_id; never a key in clear


@dataclass
class Network(ManagedObject):
    """A port group of a standard or a distributed switch (row V12)."""

    kind: ClassVar[str] = "network"
    datacenter: str = ""
    switch_type: str = "standard"        # "standard" or "distributed"
    switch: str = "vSwitch0"
    switch_version: str = ""             # a distributed switch's version
    uplinks: int = 1                     # physical NICs; 0: an internal network

    @property
    def distributed(self) -> bool:
        return self.switch_type == "distributed"


@dataclass
class Disk:
    label: str
    datastore: str
    capacity_mb: int
    encrypted: bool = False


@dataclass
class Nic:
    label: str
    mac_address: str
    network: str


@dataclass
class Snapshot:
    """A VM's snapshot, as the inventory keeps it with the VM (no memory or disk state is captured)."""

    id: str
    name: str
    description: str = ""
    create_time: float = 0.0


@dataclass
class Vm(ManagedObject):
    kind: ClassVar[str] = "vm"
    instance_uuid: str = ""
    bios_uuid: str = ""
    memory_mb: int = 256
    num_cpu: int = 1
    power_state: PowerState = PowerState.POWERED_OFF
    migrate_encryption: MigrateEncryption = MigrateEncryption.OPPORTUNISTIC
    encrypted: bool = False
    key_provider: str = ""
    key_id: str = ""
    key_safe: str = ""      # base64 of the data key wrapped under key_id (vSphere's encryption.keySafe); never a key in clear
    host: str = ""
    datacenter: str = ""
    disks: list[Disk] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)
    dirty_rate_mbps: float = 0.0
    working_set_mb: int = 0
    extra_config: dict[str, str] = field(default_factory=dict)   # advanced settings (vmotion.maxSwitchoverSeconds)
    snapshots: list[Snapshot] = field(default_factory=list)
    # runtime.minRequiredEVCModeKey: the CPU features the running VM started with; "": those of its host,
    # or of its cluster's EVC mode (row V10)
    min_required_evc_mode_key: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Vm:
        row = dict(row)
        row["power_state"] = PowerState(row["power_state"])
        row["migrate_encryption"] = MigrateEncryption(row["migrate_encryption"])
        row["disks"] = [Disk(**d) for d in row.get("disks", [])]
        row["nics"] = [Nic(**n) for n in row.get("nics", [])]
        row["snapshots"] = [Snapshot(**s) for s in row.get("snapshots", [])]
        return cls(**row)

    def to_row(self) -> dict[str, Any]:
        row = super().to_row()
        row["power_state"] = self.power_state.value
        row["migrate_encryption"] = self.migrate_encryption.value
        return row

    @property
    def mac_addresses(self) -> list[str]:
        return [n.mac_address for n in self.nics]

    @property
    def has_snapshots(self) -> bool:
        return bool(self.snapshots)


KINDS: dict[str, type[ManagedObject]] = {
    cls.kind: cls for cls in (Datacenter, Cluster, Host, Datastore, Network, Vm)
}

MOID_PREFIX = {
    "datacenter": "datacenter", "cluster": "domain-c", "host": "host", "datastore": "datastore", "network": "network", "vm": "vm",
    "snapshot": "snapshot",
}

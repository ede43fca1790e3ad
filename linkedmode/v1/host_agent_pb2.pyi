from linkedmode.v1 import common_pb2 as _common_pb2
from linkedmode.v1 import fault_rules_pb2 as _fault_rules_pb2
from linkedmode.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MigrationPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MIGRATION_PHASE_UNSPECIFIED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_PREPARED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_PRECOPY: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_SWITCHOVER: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_READY: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_COMPLETED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_FAILED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_ABORTED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_COMMITTING: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_COMMITTED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_SWITCHED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_FINISHED: _ClassVar[MigrationPhase]
    MIGRATION_PHASE_RESERVED: _ClassVar[MigrationPhase]
MIGRATION_PHASE_UNSPECIFIED: MigrationPhase
MIGRATION_PHASE_PREPARED: MigrationPhase
MIGRATION_PHASE_PRECOPY: MigrationPhase
MIGRATION_PHASE_SWITCHOVER: MigrationPhase
MIGRATION_PHASE_READY: MigrationPhase
MIGRATION_PHASE_COMPLETED: MigrationPhase
MIGRATION_PHASE_FAILED: MigrationPhase
MIGRATION_PHASE_ABORTED: MigrationPhase
MIGRATION_PHASE_COMMITTING: MigrationPhase
MIGRATION_PHASE_COMMITTED: MigrationPhase
MIGRATION_PHASE_SWITCHED: MigrationPhase
MIGRATION_PHASE_FINISHED: MigrationPhase
MIGRATION_PHASE_RESERVED: MigrationPhase

class HostAboutRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HostAbout(_message.Message):
    __slots__ = ("name", "version", "build", "sso_domain", "managed_by", "capability", "vmotion", "memory_mb")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    SSO_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    MANAGED_BY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    VMOTION_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    build: str
    sso_domain: str
    managed_by: str
    capability: _inventory_pb2.HostCapability
    vmotion: _inventory_pb2.VMotionInterface
    memory_mb: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., build: _Optional[str] = ..., sso_domain: _Optional[str] = ..., managed_by: _Optional[str] = ..., capability: _Optional[_Union[_inventory_pb2.HostCapability, _Mapping]] = ..., vmotion: _Optional[_Union[_inventory_pb2.VMotionInterface, _Mapping]] = ..., memory_mb: _Optional[int] = ...) -> None: ...

class VmRequest(_message.Message):
    __slots__ = ("instance_uuid",)
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    def __init__(self, instance_uuid: _Optional[str] = ...) -> None: ...

class RunningVm(_message.Message):
    __slots__ = ("instance_uuid", "name", "power_state", "memory_mb")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POWER_STATE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    name: str
    power_state: _common_pb2.PowerState
    memory_mb: int
    def __init__(self, instance_uuid: _Optional[str] = ..., name: _Optional[str] = ..., power_state: _Optional[_Union[_common_pb2.PowerState, str]] = ..., memory_mb: _Optional[int] = ...) -> None: ...

class UnregisterVmResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListHostVmsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListHostVmsResponse(_message.Message):
    __slots__ = ("vms",)
    VMS_FIELD_NUMBER: _ClassVar[int]
    vms: _containers.RepeatedCompositeFieldContainer[RunningVm]
    def __init__(self, vms: _Optional[_Iterable[_Union[RunningVm, _Mapping]]] = ...) -> None: ...

class HostResetRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HostResetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MigrationSpec(_message.Message):
    __slots__ = ("migration_id", "vm", "encrypted", "key", "nonce", "source_host", "destination_host", "settings", "disk_moves")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    VM_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_HOST_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_HOST_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    DISK_MOVES_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    vm: _inventory_pb2.VmConfig
    encrypted: bool
    key: bytes
    nonce: bytes
    source_host: str
    destination_host: str
    settings: MigrationSettings
    disk_moves: _containers.RepeatedCompositeFieldContainer[DiskMove]
    def __init__(self, migration_id: _Optional[int] = ..., vm: _Optional[_Union[_inventory_pb2.VmConfig, _Mapping]] = ..., encrypted: _Optional[bool] = ..., key: _Optional[bytes] = ..., nonce: _Optional[bytes] = ..., source_host: _Optional[str] = ..., destination_host: _Optional[str] = ..., settings: _Optional[_Union[MigrationSettings, _Mapping]] = ..., disk_moves: _Optional[_Iterable[_Union[DiskMove, _Mapping]]] = ...) -> None: ...

class DiskMove(_message.Message):
    __slots__ = ("label", "capacity_mb", "source_path", "destination_path", "source_key", "destination_key")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_MB_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_PATH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_KEY_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_KEY_FIELD_NUMBER: _ClassVar[int]
    label: str
    capacity_mb: int
    source_path: str
    destination_path: str
    source_key: bytes
    destination_key: bytes
    def __init__(self, label: _Optional[str] = ..., capacity_mb: _Optional[int] = ..., source_path: _Optional[str] = ..., destination_path: _Optional[str] = ..., source_key: _Optional[bytes] = ..., destination_key: _Optional[bytes] = ...) -> None: ...

class MigrationSettings(_message.Message):
    __slots__ = ("switchover_goal_seconds", "max_switchover_seconds", "bandwidth_limit_mbps")
    SWITCHOVER_GOAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SWITCHOVER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_LIMIT_MBPS_FIELD_NUMBER: _ClassVar[int]
    switchover_goal_seconds: float
    max_switchover_seconds: float
    bandwidth_limit_mbps: float
    def __init__(self, switchover_goal_seconds: _Optional[float] = ..., max_switchover_seconds: _Optional[float] = ..., bandwidth_limit_mbps: _Optional[float] = ...) -> None: ...

class PrepareDestinationResponse(_message.Message):
    __slots__ = ("vmotion_address",)
    VMOTION_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    vmotion_address: str
    def __init__(self, vmotion_address: _Optional[str] = ...) -> None: ...

class PrepareSourceRequest(_message.Message):
    __slots__ = ("spec", "destination_vmotion_address")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_VMOTION_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    spec: MigrationSpec
    destination_vmotion_address: str
    def __init__(self, spec: _Optional[_Union[MigrationSpec, _Mapping]] = ..., destination_vmotion_address: _Optional[str] = ...) -> None: ...

class PrepareSourceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MigrationRef(_message.Message):
    __slots__ = ("migration_id",)
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    def __init__(self, migration_id: _Optional[int] = ...) -> None: ...

class AbortMigrationRequest(_message.Message):
    __slots__ = ("migration_id", "reason")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    reason: str
    def __init__(self, migration_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class MigrationProgress(_message.Message):
    __slots__ = ("migration_id", "phase", "round", "pages_left", "bytes_sent", "mbps", "throttle", "stats", "error")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    PAGES_LEFT_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    MBPS_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    phase: MigrationPhase
    round: int
    pages_left: int
    bytes_sent: int
    mbps: float
    throttle: float
    stats: MigrationStats
    error: _common_pb2.Fault
    def __init__(self, migration_id: _Optional[int] = ..., phase: _Optional[_Union[MigrationPhase, str]] = ..., round: _Optional[int] = ..., pages_left: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., mbps: _Optional[float] = ..., throttle: _Optional[float] = ..., stats: _Optional[_Union[MigrationStats, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.Fault, _Mapping]] = ...) -> None: ...

class MigrationStats(_message.Message):
    __slots__ = ("rounds", "bytes_sent", "pages_sent", "zero_pages", "duration_ms", "stun_time", "encrypted", "memory_digest", "max_throttle", "disk_bytes")
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    PAGES_SENT_FIELD_NUMBER: _ClassVar[int]
    ZERO_PAGES_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    STUN_TIME_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    MEMORY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    MAX_THROTTLE_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    rounds: int
    bytes_sent: int
    pages_sent: int
    zero_pages: int
    duration_ms: float
    stun_time: float
    encrypted: bool
    memory_digest: str
    max_throttle: float
    disk_bytes: int
    def __init__(self, rounds: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., pages_sent: _Optional[int] = ..., zero_pages: _Optional[int] = ..., duration_ms: _Optional[float] = ..., stun_time: _Optional[float] = ..., encrypted: _Optional[bool] = ..., memory_digest: _Optional[str] = ..., max_throttle: _Optional[float] = ..., disk_bytes: _Optional[int] = ...) -> None: ...

class MigrationOutcome(_message.Message):
    __slots__ = ("migration_id", "phase", "resume_time", "stats", "downtime_ms", "error")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    RESUME_TIME_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    phase: MigrationPhase
    resume_time: float
    stats: MigrationStats
    downtime_ms: float
    error: _common_pb2.Fault
    def __init__(self, migration_id: _Optional[int] = ..., phase: _Optional[_Union[MigrationPhase, str]] = ..., resume_time: _Optional[float] = ..., stats: _Optional[_Union[MigrationStats, _Mapping]] = ..., downtime_ms: _Optional[float] = ..., error: _Optional[_Union[_common_pb2.Fault, _Mapping]] = ...) -> None: ...

class ListMigrationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMigrationsResponse(_message.Message):
    __slots__ = ("migrations",)
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    migrations: _containers.RepeatedCompositeFieldContainer[MigrationProgress]
    def __init__(self, migrations: _Optional[_Iterable[_Union[MigrationProgress, _Mapping]]] = ...) -> None: ...

class WriteGuestMemoryRequest(_message.Message):
    __slots__ = ("instance_uuid", "random_fraction", "marker", "marker_every_pages", "marker_page")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FRACTION_FIELD_NUMBER: _ClassVar[int]
    MARKER_FIELD_NUMBER: _ClassVar[int]
    MARKER_EVERY_PAGES_FIELD_NUMBER: _ClassVar[int]
    MARKER_PAGE_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    random_fraction: float
    marker: bytes
    marker_every_pages: int
    marker_page: int
    def __init__(self, instance_uuid: _Optional[str] = ..., random_fraction: _Optional[float] = ..., marker: _Optional[bytes] = ..., marker_every_pages: _Optional[int] = ..., marker_page: _Optional[int] = ...) -> None: ...

class SetHostGuestWorkloadRequest(_message.Message):
    __slots__ = ("instance_uuid", "workload")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    workload: _inventory_pb2.GuestWorkload
    def __init__(self, instance_uuid: _Optional[str] = ..., workload: _Optional[_Union[_inventory_pb2.GuestWorkload, _Mapping]] = ...) -> None: ...

class RegisterVmsRequest(_message.Message):
    __slots__ = ("vms", "power_on")
    VMS_FIELD_NUMBER: _ClassVar[int]
    POWER_ON_FIELD_NUMBER: _ClassVar[int]
    vms: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.VmConfig]
    power_on: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vms: _Optional[_Iterable[_Union[_inventory_pb2.VmConfig, _Mapping]]] = ..., power_on: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAnnouncementsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAnnouncementsResponse(_message.Message):
    __slots__ = ("announcements",)
    ANNOUNCEMENTS_FIELD_NUMBER: _ClassVar[int]
    announcements: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.NetworkAnnouncement]
    def __init__(self, announcements: _Optional[_Iterable[_Union[_inventory_pb2.NetworkAnnouncement, _Mapping]]] = ...) -> None: ...

class QueryVmStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VmStats(_message.Message):
    __slots__ = ("instance_uuid", "uptime_seconds", "cpu_seconds", "num_cpu", "mem_consumed_kb")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NUM_CPU_FIELD_NUMBER: _ClassVar[int]
    MEM_CONSUMED_KB_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    uptime_seconds: float
    cpu_seconds: float
    num_cpu: int
    mem_consumed_kb: int
    def __init__(self, instance_uuid: _Optional[str] = ..., uptime_seconds: _Optional[float] = ..., cpu_seconds: _Optional[float] = ..., num_cpu: _Optional[int] = ..., mem_consumed_kb: _Optional[int] = ...) -> None: ...

class QueryVmStatsResponse(_message.Message):
    __slots__ = ("vms",)
    VMS_FIELD_NUMBER: _ClassVar[int]
    vms: _containers.RepeatedCompositeFieldContainer[VmStats]
    def __init__(self, vms: _Optional[_Iterable[_Union[VmStats, _Mapping]]] = ...) -> None: ...

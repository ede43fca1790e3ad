import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from linkedmode.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HostConnectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOST_CONNECTION_STATE_UNSPECIFIED: _ClassVar[HostConnectionState]
    HOST_CONNECTION_STATE_CONNECTED: _ClassVar[HostConnectionState]
    HOST_CONNECTION_STATE_DISCONNECTED: _ClassVar[HostConnectionState]
    HOST_CONNECTION_STATE_NOT_RESPONDING: _ClassVar[HostConnectionState]
HOST_CONNECTION_STATE_UNSPECIFIED: HostConnectionState
HOST_CONNECTION_STATE_CONNECTED: HostConnectionState
HOST_CONNECTION_STATE_DISCONNECTED: HostConnectionState
HOST_CONNECTION_STATE_NOT_RESPONDING: HostConnectionState

class Datacenter(_message.Message):
    __slots__ = ("moid", "name")
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("moid", "name", "datacenter", "hosts", "current_evc_mode_key")
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_EVC_MODE_KEY_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    datacenter: str
    hosts: _containers.RepeatedScalarFieldContainer[str]
    current_evc_mode_key: str
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ..., datacenter: _Optional[str] = ..., hosts: _Optional[_Iterable[str]] = ..., current_evc_mode_key: _Optional[str] = ...) -> None: ...

class HostCapability(_message.Message):
    __slots__ = ("encrypted_vmotion_supported", "aes_ni", "max_concurrent_vmotions")
    ENCRYPTED_VMOTION_SUPPORTED_FIELD_NUMBER: _ClassVar[int]
    AES_NI_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_VMOTIONS_FIELD_NUMBER: _ClassVar[int]
    encrypted_vmotion_supported: bool
    aes_ni: bool
    max_concurrent_vmotions: int
    def __init__(self, encrypted_vmotion_supported: _Optional[bool] = ..., aes_ni: _Optional[bool] = ..., max_concurrent_vmotions: _Optional[int] = ...) -> None: ...

class VMotionInterface(_message.Message):
    __slots__ = ("address", "bandwidth")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    address: str
    bandwidth: str
    def __init__(self, address: _Optional[str] = ..., bandwidth: _Optional[str] = ...) -> None: ...

class HostSystem(_message.Message):
    __slots__ = ("moid", "name", "version", "cluster", "datacenter", "capability", "connection_state", "memory_mb", "vmotion", "agent_address", "datastores", "vms", "cpu_vendor", "max_evc_mode_key", "current_evc_mode_key", "in_maintenance_mode")
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    VMOTION_FIELD_NUMBER: _ClassVar[int]
    AGENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DATASTORES_FIELD_NUMBER: _ClassVar[int]
    VMS_FIELD_NUMBER: _ClassVar[int]
    CPU_VENDOR_FIELD_NUMBER: _ClassVar[int]
    MAX_EVC_MODE_KEY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_EVC_MODE_KEY_FIELD_NUMBER: _ClassVar[int]
    IN_MAINTENANCE_MODE_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    version: str
    cluster: str
    datacenter: str
    capability: HostCapability
    connection_state: HostConnectionState
    memory_mb: int
    vmotion: VMotionInterface
    agent_address: str
    datastores: _containers.RepeatedScalarFieldContainer[str]
    vms: _containers.RepeatedScalarFieldContainer[str]
    cpu_vendor: str
    max_evc_mode_key: str
    current_evc_mode_key: str
    in_maintenance_mode: bool
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., cluster: _Optional[str] = ..., datacenter: _Optional[str] = ..., capability: _Optional[_Union[HostCapability, _Mapping]] = ..., connection_state: _Optional[_Union[HostConnectionState, str]] = ..., memory_mb: _Optional[int] = ..., vmotion: _Optional[_Union[VMotionInterface, _Mapping]] = ..., agent_address: _Optional[str] = ..., datastores: _Optional[_Iterable[str]] = ..., vms: _Optional[_Iterable[str]] = ..., cpu_vendor: _Optional[str] = ..., max_evc_mode_key: _Optional[str] = ..., current_evc_mode_key: _Optional[str] = ..., in_maintenance_mode: _Optional[bool] = ...) -> None: ...

class Datastore(_message.Message):
    __slots__ = ("moid", "name", "type", "encrypted", "datacenter", "capacity_mb", "hosts", "key_provider", "key_id")
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_MB_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    KEY_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    type: str
    encrypted: bool
    datacenter: str
    capacity_mb: int
    hosts: _containers.RepeatedScalarFieldContainer[str]
    key_provider: str
    key_id: str
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., encrypted: _Optional[bool] = ..., datacenter: _Optional[str] = ..., capacity_mb: _Optional[int] = ..., hosts: _Optional[_Iterable[str]] = ..., key_provider: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class Network(_message.Message):
    __slots__ = ("moid", "name", "datacenter", "switch_type", "switch", "switch_version", "uplinks")
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    SWITCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    SWITCH_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPLINKS_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    datacenter: str
    switch_type: str
    switch: str
    switch_version: str
    uplinks: int
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ..., datacenter: _Optional[str] = ..., switch_type: _Optional[str] = ..., switch: _Optional[str] = ..., switch_version: _Optional[str] = ..., uplinks: _Optional[int] = ...) -> None: ...

class VirtualDisk(_message.Message):
    __slots__ = ("label", "datastore", "capacity_mb", "encrypted")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DATASTORE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_MB_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    label: str
    datastore: str
    capacity_mb: int
    encrypted: bool
    def __init__(self, label: _Optional[str] = ..., datastore: _Optional[str] = ..., capacity_mb: _Optional[int] = ..., encrypted: _Optional[bool] = ...) -> None: ...

class VirtualEthernetCard(_message.Message):
    __slots__ = ("label", "mac_address", "network")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MAC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    label: str
    mac_address: str
    network: str
    def __init__(self, label: _Optional[str] = ..., mac_address: _Optional[str] = ..., network: _Optional[str] = ...) -> None: ...

class GuestWorkload(_message.Message):
    __slots__ = ("dirty_rate_mbps", "working_set_mb")
    DIRTY_RATE_MBPS_FIELD_NUMBER: _ClassVar[int]
    WORKING_SET_MB_FIELD_NUMBER: _ClassVar[int]
    dirty_rate_mbps: float
    working_set_mb: int
    def __init__(self, dirty_rate_mbps: _Optional[float] = ..., working_set_mb: _Optional[int] = ...) -> None: ...

class CryptoState(_message.Message):
    __slots__ = ("encrypted", "key_provider", "key_id", "key_safe")
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    KEY_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_SAFE_FIELD_NUMBER: _ClassVar[int]
    encrypted: bool
    key_provider: str
    key_id: str
    key_safe: bytes
    def __init__(self, encrypted: _Optional[bool] = ..., key_provider: _Optional[str] = ..., key_id: _Optional[str] = ..., key_safe: _Optional[bytes] = ...) -> None: ...

class VirtualMachineSnapshot(_message.Message):
    __slots__ = ("id", "name", "description", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VirtualMachine(_message.Message):
    __slots__ = ("moid", "name", "instance_uuid", "bios_uuid", "memory_mb", "num_cpu", "power_state", "migrate_encryption", "crypto", "host", "datacenter", "disks", "nics", "workload", "snapshots", "has_snapshots", "extra_config", "min_required_evc_mode_key")
    class ExtraConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    BIOS_UUID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    NUM_CPU_FIELD_NUMBER: _ClassVar[int]
    POWER_STATE_FIELD_NUMBER: _ClassVar[int]
    MIGRATE_ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    DISKS_FIELD_NUMBER: _ClassVar[int]
    NICS_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    HAS_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MIN_REQUIRED_EVC_MODE_KEY_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    instance_uuid: str
    bios_uuid: str
    memory_mb: int
    num_cpu: int
    power_state: _common_pb2.PowerState
    migrate_encryption: _common_pb2.MigrateEncryption
    crypto: CryptoState
    host: str
    datacenter: str
    disks: _containers.RepeatedCompositeFieldContainer[VirtualDisk]
    nics: _containers.RepeatedCompositeFieldContainer[VirtualEthernetCard]
    workload: GuestWorkload
    snapshots: _containers.RepeatedCompositeFieldContainer[VirtualMachineSnapshot]
    has_snapshots: bool
    extra_config: _containers.ScalarMap[str, str]
    min_required_evc_mode_key: str
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ..., instance_uuid: _Optional[str] = ..., bios_uuid: _Optional[str] = ..., memory_mb: _Optional[int] = ..., num_cpu: _Optional[int] = ..., power_state: _Optional[_Union[_common_pb2.PowerState, str]] = ..., migrate_encryption: _Optional[_Union[_common_pb2.MigrateEncryption, str]] = ..., crypto: _Optional[_Union[CryptoState, _Mapping]] = ..., host: _Optional[str] = ..., datacenter: _Optional[str] = ..., disks: _Optional[_Iterable[_Union[VirtualDisk, _Mapping]]] = ..., nics: _Optional[_Iterable[_Union[VirtualEthernetCard, _Mapping]]] = ..., workload: _Optional[_Union[GuestWorkload, _Mapping]] = ..., snapshots: _Optional[_Iterable[_Union[VirtualMachineSnapshot, _Mapping]]] = ..., has_snapshots: _Optional[bool] = ..., extra_config: _Optional[_Mapping[str, str]] = ..., min_required_evc_mode_key: _Optional[str] = ...) -> None: ...

class VmConfig(_message.Message):
    __slots__ = ("instance_uuid", "name", "memory_mb", "num_cpu", "workload", "mac_addresses", "encrypted")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    NUM_CPU_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    MAC_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    name: str
    memory_mb: int
    num_cpu: int
    workload: GuestWorkload
    mac_addresses: _containers.RepeatedScalarFieldContainer[str]
    encrypted: bool
    def __init__(self, instance_uuid: _Optional[str] = ..., name: _Optional[str] = ..., memory_mb: _Optional[int] = ..., num_cpu: _Optional[int] = ..., workload: _Optional[_Union[GuestWorkload, _Mapping]] = ..., mac_addresses: _Optional[_Iterable[str]] = ..., encrypted: _Optional[bool] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("datacenter",)
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    datacenter: str
    def __init__(self, datacenter: _Optional[str] = ...) -> None: ...

class GuestMemoryInfo(_message.Message):
    __slots__ = ("instance_uuid", "pages", "written_pages", "digest", "power_state")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_PAGES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    POWER_STATE_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    pages: int
    written_pages: int
    digest: str
    power_state: _common_pb2.PowerState
    def __init__(self, instance_uuid: _Optional[str] = ..., pages: _Optional[int] = ..., written_pages: _Optional[int] = ..., digest: _Optional[str] = ..., power_state: _Optional[_Union[_common_pb2.PowerState, str]] = ...) -> None: ...

class NetworkAnnouncement(_message.Message):
    __slots__ = ("time", "host", "instance_uuid", "vm_name", "mac_address", "migration_id", "frame")
    TIME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    VM_NAME_FIELD_NUMBER: _ClassVar[int]
    MAC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    time: float
    host: str
    instance_uuid: str
    vm_name: str
    mac_address: str
    migration_id: int
    frame: bytes
    def __init__(self, time: _Optional[float] = ..., host: _Optional[str] = ..., instance_uuid: _Optional[str] = ..., vm_name: _Optional[str] = ..., mac_address: _Optional[str] = ..., migration_id: _Optional[int] = ..., frame: _Optional[bytes] = ...) -> None: ...

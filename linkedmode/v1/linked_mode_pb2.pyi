from linkedmode.v1 import common_pb2 as _common_pb2
from linkedmode.v1 import host_agent_pb2 as _host_agent_pb2
from linkedmode.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerInfo(_message.Message):
    __slots__ = ("name", "instance_uuid", "version", "sso_domain", "url", "thumbprint")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SSO_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBPRINT_FIELD_NUMBER: _ClassVar[int]
    name: str
    instance_uuid: str
    version: str
    sso_domain: str
    url: str
    thumbprint: str
    def __init__(self, name: _Optional[str] = ..., instance_uuid: _Optional[str] = ..., version: _Optional[str] = ..., sso_domain: _Optional[str] = ..., url: _Optional[str] = ..., thumbprint: _Optional[str] = ...) -> None: ...

class ListPeersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPeersResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerInfo]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerInfo, _Mapping]]] = ...) -> None: ...

class IncomingMigrationRequest(_message.Message):
    __slots__ = ("vm", "source_vcenter", "source_host", "host", "datastore", "pool", "spec", "disk_datastores", "nic_networks", "hot", "encrypted", "migration_id", "disk_paths", "chain_id", "priority", "nic_source_networks", "disk_vsan_keys")
    VM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_VCENTER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_HOST_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    DATASTORE_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DISK_DATASTORES_FIELD_NUMBER: _ClassVar[int]
    NIC_NETWORKS_FIELD_NUMBER: _ClassVar[int]
    HOT_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    DISK_PATHS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    NIC_SOURCE_NETWORKS_FIELD_NUMBER: _ClassVar[int]
    DISK_VSAN_KEYS_FIELD_NUMBER: _ClassVar[int]
    vm: _inventory_pb2.VirtualMachine
    source_vcenter: str
    source_host: str
    host: str
    datastore: str
    pool: str
    spec: _host_agent_pb2.MigrationSpec
    disk_datastores: _containers.RepeatedScalarFieldContainer[str]
    nic_networks: _containers.RepeatedScalarFieldContainer[str]
    hot: bool
    encrypted: bool
    migration_id: int
    disk_paths: _containers.RepeatedScalarFieldContainer[str]
    chain_id: int
    priority: _common_pb2.MovePriority
    nic_source_networks: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Network]
    disk_vsan_keys: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, vm: _Optional[_Union[_inventory_pb2.VirtualMachine, _Mapping]] = ..., source_vcenter: _Optional[str] = ..., source_host: _Optional[str] = ..., host: _Optional[str] = ..., datastore: _Optional[str] = ..., pool: _Optional[str] = ..., spec: _Optional[_Union[_host_agent_pb2.MigrationSpec, _Mapping]] = ..., disk_datastores: _Optional[_Iterable[str]] = ..., nic_networks: _Optional[_Iterable[str]] = ..., hot: _Optional[bool] = ..., encrypted: _Optional[bool] = ..., migration_id: _Optional[int] = ..., disk_paths: _Optional[_Iterable[str]] = ..., chain_id: _Optional[int] = ..., priority: _Optional[_Union[_common_pb2.MovePriority, str]] = ..., nic_source_networks: _Optional[_Iterable[_Union[_inventory_pb2.Network, _Mapping]]] = ..., disk_vsan_keys: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CheckMigrationResponse(_message.Message):
    __slots__ = ("host", "datacenter")
    HOST_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    host: _inventory_pb2.HostSystem
    datacenter: str
    def __init__(self, host: _Optional[_Union[_inventory_pb2.HostSystem, _Mapping]] = ..., datacenter: _Optional[str] = ...) -> None: ...

class ReserveMigrationResponse(_message.Message):
    __slots__ = ("reserved",)
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    reserved: bool
    def __init__(self, reserved: _Optional[bool] = ...) -> None: ...

class PrepareMigrationResponse(_message.Message):
    __slots__ = ("vmotion_address",)
    VMOTION_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    vmotion_address: str
    def __init__(self, vmotion_address: _Optional[str] = ...) -> None: ...

class CommitMigrationResponse(_message.Message):
    __slots__ = ("vm", "resume_time")
    VM_FIELD_NUMBER: _ClassVar[int]
    RESUME_TIME_FIELD_NUMBER: _ClassVar[int]
    vm: str
    resume_time: float
    def __init__(self, vm: _Optional[str] = ..., resume_time: _Optional[float] = ...) -> None: ...

class AbortMigrationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ArrivalStateRequest(_message.Message):
    __slots__ = ("migration_id", "instance_uuid", "host")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    instance_uuid: str
    host: str
    def __init__(self, migration_id: _Optional[int] = ..., instance_uuid: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class ArrivalStateResponse(_message.Message):
    __slots__ = ("phase", "host_runs_vm")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    HOST_RUNS_VM_FIELD_NUMBER: _ClassVar[int]
    phase: _host_agent_pb2.MigrationPhase
    host_runs_vm: bool
    def __init__(self, phase: _Optional[_Union[_host_agent_pb2.MigrationPhase, str]] = ..., host_runs_vm: _Optional[bool] = ...) -> None: ...

class FinishMigrationRequest(_message.Message):
    __slots__ = ("migration_id", "restart")
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    migration_id: int
    restart: bool
    def __init__(self, migration_id: _Optional[int] = ..., restart: _Optional[bool] = ...) -> None: ...

class ListHostCapacityRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HostCapacity(_message.Message):
    __slots__ = ("host", "free_memory_mb", "cluster", "datastores")
    HOST_FIELD_NUMBER: _ClassVar[int]
    FREE_MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    DATASTORES_FIELD_NUMBER: _ClassVar[int]
    host: _inventory_pb2.HostSystem
    free_memory_mb: int
    cluster: str
    datastores: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Datastore]
    def __init__(self, host: _Optional[_Union[_inventory_pb2.HostSystem, _Mapping]] = ..., free_memory_mb: _Optional[int] = ..., cluster: _Optional[str] = ..., datastores: _Optional[_Iterable[_Union[_inventory_pb2.Datastore, _Mapping]]] = ...) -> None: ...

class ListHostCapacityResponse(_message.Message):
    __slots__ = ("hosts",)
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    hosts: _containers.RepeatedCompositeFieldContainer[HostCapacity]
    def __init__(self, hosts: _Optional[_Iterable[_Union[HostCapacity, _Mapping]]] = ...) -> None: ...

from linkedmode.v1 import common_pb2 as _common_pb2
from linkedmode.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetAboutRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AboutInfo(_message.Message):
    __slots__ = ("name", "full_name", "version", "build", "api_type", "instance_uuid", "sso_domain", "url", "thumbprint", "metrics_url", "login_url")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    API_TYPE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    SSO_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBPRINT_FIELD_NUMBER: _ClassVar[int]
    METRICS_URL_FIELD_NUMBER: _ClassVar[int]
    LOGIN_URL_FIELD_NUMBER: _ClassVar[int]
    name: str
    full_name: str
    version: str
    build: str
    api_type: str
    instance_uuid: str
    sso_domain: str
    url: str
    thumbprint: str
    metrics_url: str
    login_url: str
    def __init__(self, name: _Optional[str] = ..., full_name: _Optional[str] = ..., version: _Optional[str] = ..., build: _Optional[str] = ..., api_type: _Optional[str] = ..., instance_uuid: _Optional[str] = ..., sso_domain: _Optional[str] = ..., url: _Optional[str] = ..., thumbprint: _Optional[str] = ..., metrics_url: _Optional[str] = ..., login_url: _Optional[str] = ...) -> None: ...

class ListDatacentersResponse(_message.Message):
    __slots__ = ("datacenters",)
    DATACENTERS_FIELD_NUMBER: _ClassVar[int]
    datacenters: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Datacenter]
    def __init__(self, datacenters: _Optional[_Iterable[_Union[_inventory_pb2.Datacenter, _Mapping]]] = ...) -> None: ...

class ListClustersResponse(_message.Message):
    __slots__ = ("clusters",)
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Cluster]
    def __init__(self, clusters: _Optional[_Iterable[_Union[_inventory_pb2.Cluster, _Mapping]]] = ...) -> None: ...

class ListHostsResponse(_message.Message):
    __slots__ = ("hosts",)
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    hosts: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.HostSystem]
    def __init__(self, hosts: _Optional[_Iterable[_Union[_inventory_pb2.HostSystem, _Mapping]]] = ...) -> None: ...

class ListDatastoresResponse(_message.Message):
    __slots__ = ("datastores",)
    DATASTORES_FIELD_NUMBER: _ClassVar[int]
    datastores: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Datastore]
    def __init__(self, datastores: _Optional[_Iterable[_Union[_inventory_pb2.Datastore, _Mapping]]] = ...) -> None: ...

class ListNetworksResponse(_message.Message):
    __slots__ = ("networks",)
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    networks: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Network]
    def __init__(self, networks: _Optional[_Iterable[_Union[_inventory_pb2.Network, _Mapping]]] = ...) -> None: ...

class ListVmsRequest(_message.Message):
    __slots__ = ("datacenter", "host")
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    datacenter: str
    host: str
    def __init__(self, datacenter: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class ListVmsResponse(_message.Message):
    __slots__ = ("vms",)
    VMS_FIELD_NUMBER: _ClassVar[int]
    vms: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.VirtualMachine]
    def __init__(self, vms: _Optional[_Iterable[_Union[_inventory_pb2.VirtualMachine, _Mapping]]] = ...) -> None: ...

class VirtualMachineConfigSpec(_message.Message):
    __slots__ = ("migrate_encryption", "extra_config", "crypto")
    class ExtraConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MIGRATE_ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    EXTRA_CONFIG_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_FIELD_NUMBER: _ClassVar[int]
    migrate_encryption: _common_pb2.MigrateEncryption
    extra_config: _containers.ScalarMap[str, str]
    crypto: CryptoSpec
    def __init__(self, migrate_encryption: _Optional[_Union[_common_pb2.MigrateEncryption, str]] = ..., extra_config: _Optional[_Mapping[str, str]] = ..., crypto: _Optional[_Union[CryptoSpec, _Mapping]] = ...) -> None: ...

class CryptoSpec(_message.Message):
    __slots__ = ("encrypt", "decrypt")
    ENCRYPT_FIELD_NUMBER: _ClassVar[int]
    DECRYPT_FIELD_NUMBER: _ClassVar[int]
    encrypt: CryptoSpecEncrypt
    decrypt: CryptoSpecDecrypt
    def __init__(self, encrypt: _Optional[_Union[CryptoSpecEncrypt, _Mapping]] = ..., decrypt: _Optional[_Union[CryptoSpecDecrypt, _Mapping]] = ...) -> None: ...

class CryptoSpecEncrypt(_message.Message):
    __slots__ = ("key_provider",)
    KEY_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    key_provider: str
    def __init__(self, key_provider: _Optional[str] = ...) -> None: ...

class CryptoSpecDecrypt(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReconfigVmRequest(_message.Message):
    __slots__ = ("vm", "spec")
    VM_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    spec: VirtualMachineConfigSpec
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineConfigSpec, _Mapping]] = ...) -> None: ...

class ServiceLocator(_message.Message):
    __slots__ = ("instance_uuid", "url", "ssl_thumbprint", "credential")
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SSL_THUMBPRINT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    instance_uuid: str
    url: str
    ssl_thumbprint: str
    credential: ServiceLocatorNamePassword
    def __init__(self, instance_uuid: _Optional[str] = ..., url: _Optional[str] = ..., ssl_thumbprint: _Optional[str] = ..., credential: _Optional[_Union[ServiceLocatorNamePassword, _Mapping]] = ...) -> None: ...

class ServiceLocatorNamePassword(_message.Message):
    __slots__ = ("username", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class RelocateSpec(_message.Message):
    __slots__ = ("host", "datastore", "pool", "service", "device_change")
    HOST_FIELD_NUMBER: _ClassVar[int]
    DATASTORE_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    host: str
    datastore: str
    pool: str
    service: ServiceLocator
    device_change: _containers.RepeatedCompositeFieldContainer[VirtualDeviceConfigSpec]
    def __init__(self, host: _Optional[str] = ..., datastore: _Optional[str] = ..., pool: _Optional[str] = ..., service: _Optional[_Union[ServiceLocator, _Mapping]] = ..., device_change: _Optional[_Iterable[_Union[VirtualDeviceConfigSpec, _Mapping]]] = ...) -> None: ...

class VirtualDeviceConfigSpec(_message.Message):
    __slots__ = ("device", "network")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    device: str
    network: str
    def __init__(self, device: _Optional[str] = ..., network: _Optional[str] = ...) -> None: ...

class RelocateVmRequest(_message.Message):
    __slots__ = ("vm", "spec", "priority")
    VM_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    spec: RelocateSpec
    priority: _common_pb2.MovePriority
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., spec: _Optional[_Union[RelocateSpec, _Mapping]] = ..., priority: _Optional[_Union[_common_pb2.MovePriority, str]] = ...) -> None: ...

class CheckRelocateResponse(_message.Message):
    __slots__ = ("errors", "warnings", "vcenter", "host", "hot", "encrypted", "reason")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    VCENTER_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    HOT_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.Fault]
    warnings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Fault]
    vcenter: str
    host: str
    hot: bool
    encrypted: bool
    reason: str
    def __init__(self, errors: _Optional[_Iterable[_Union[_common_pb2.Fault, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[_common_pb2.Fault, _Mapping]]] = ..., vcenter: _Optional[str] = ..., host: _Optional[str] = ..., hot: _Optional[bool] = ..., encrypted: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class VirtualDiskSpec(_message.Message):
    __slots__ = ("capacity_mb", "datastore")
    CAPACITY_MB_FIELD_NUMBER: _ClassVar[int]
    DATASTORE_FIELD_NUMBER: _ClassVar[int]
    capacity_mb: int
    datastore: str
    def __init__(self, capacity_mb: _Optional[int] = ..., datastore: _Optional[str] = ...) -> None: ...

class VirtualNicSpec(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: str
    def __init__(self, network: _Optional[str] = ...) -> None: ...

class CreateVmRequest(_message.Message):
    __slots__ = ("name", "host", "cluster", "datastore", "memory_mb", "num_cpu", "disks", "nics", "migrate_encryption", "workload")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    DATASTORE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    NUM_CPU_FIELD_NUMBER: _ClassVar[int]
    DISKS_FIELD_NUMBER: _ClassVar[int]
    NICS_FIELD_NUMBER: _ClassVar[int]
    MIGRATE_ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    name: str
    host: str
    cluster: str
    datastore: str
    memory_mb: int
    num_cpu: int
    disks: _containers.RepeatedCompositeFieldContainer[VirtualDiskSpec]
    nics: _containers.RepeatedCompositeFieldContainer[VirtualNicSpec]
    migrate_encryption: _common_pb2.MigrateEncryption
    workload: _inventory_pb2.GuestWorkload
    def __init__(self, name: _Optional[str] = ..., host: _Optional[str] = ..., cluster: _Optional[str] = ..., datastore: _Optional[str] = ..., memory_mb: _Optional[int] = ..., num_cpu: _Optional[int] = ..., disks: _Optional[_Iterable[_Union[VirtualDiskSpec, _Mapping]]] = ..., nics: _Optional[_Iterable[_Union[VirtualNicSpec, _Mapping]]] = ..., migrate_encryption: _Optional[_Union[_common_pb2.MigrateEncryption, str]] = ..., workload: _Optional[_Union[_inventory_pb2.GuestWorkload, _Mapping]] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ("vm", "name", "description")
    VM_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    name: str
    description: str
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class RemoveSnapshotRequest(_message.Message):
    __slots__ = ("vm", "snapshot")
    VM_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    snapshot: str
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., snapshot: _Optional[str] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots",)
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.VirtualMachineSnapshot]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[_inventory_pb2.VirtualMachineSnapshot, _Mapping]]] = ...) -> None: ...

class ListBlockedMacsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBlockedMacsResponse(_message.Message):
    __slots__ = ("mac_addresses",)
    MAC_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    mac_addresses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mac_addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("entity", "limit")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    entity: str
    limit: int
    def __init__(self, entity: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_common_pb2.Task]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_common_pb2.Task, _Mapping]]] = ...) -> None: ...

class EventFilter(_message.Message):
    __slots__ = ("after_key", "vm", "types", "limit")
    AFTER_KEY_FIELD_NUMBER: _ClassVar[int]
    VM_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_key: int
    vm: str
    types: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    def __init__(self, after_key: _Optional[int] = ..., vm: _Optional[str] = ..., types: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_common_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_common_pb2.Event, _Mapping]]] = ...) -> None: ...

class LinkedVCenter(_message.Message):
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

class ListLinkedVCentersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLinkedVCentersResponse(_message.Message):
    __slots__ = ("vcenters",)
    VCENTERS_FIELD_NUMBER: _ClassVar[int]
    vcenters: _containers.RepeatedCompositeFieldContainer[LinkedVCenter]
    def __init__(self, vcenters: _Optional[_Iterable[_Union[LinkedVCenter, _Mapping]]] = ...) -> None: ...

class VmFilter(_message.Message):
    __slots__ = ("name", "host", "power_state", "migrate_encryption")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    POWER_STATE_FIELD_NUMBER: _ClassVar[int]
    MIGRATE_ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    host: str
    power_state: _common_pb2.PowerState
    migrate_encryption: _common_pb2.MigrateEncryption
    def __init__(self, name: _Optional[str] = ..., host: _Optional[str] = ..., power_state: _Optional[_Union[_common_pb2.PowerState, str]] = ..., migrate_encryption: _Optional[_Union[_common_pb2.MigrateEncryption, str]] = ...) -> None: ...

class SetMigrateEncryptionRequest(_message.Message):
    __slots__ = ("filter", "migrate_encryption")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MIGRATE_ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    filter: VmFilter
    migrate_encryption: _common_pb2.MigrateEncryption
    def __init__(self, filter: _Optional[_Union[VmFilter, _Mapping]] = ..., migrate_encryption: _Optional[_Union[_common_pb2.MigrateEncryption, str]] = ...) -> None: ...

class EvacuateHostRequest(_message.Message):
    __slots__ = ("host", "target_vcenter", "target_hosts", "priority")
    HOST_FIELD_NUMBER: _ClassVar[int]
    TARGET_VCENTER_FIELD_NUMBER: _ClassVar[int]
    TARGET_HOSTS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    host: str
    target_vcenter: str
    target_hosts: _containers.RepeatedScalarFieldContainer[str]
    priority: _common_pb2.MovePriority
    def __init__(self, host: _Optional[str] = ..., target_vcenter: _Optional[str] = ..., target_hosts: _Optional[_Iterable[str]] = ..., priority: _Optional[_Union[_common_pb2.MovePriority, str]] = ...) -> None: ...

class ListKeyProvidersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyProviderInfo(_message.Message):
    __slots__ = ("name", "native", "kms_address", "is_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_FIELD_NUMBER: _ClassVar[int]
    KMS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    native: bool
    kms_address: str
    is_default: bool
    def __init__(self, name: _Optional[str] = ..., native: _Optional[bool] = ..., kms_address: _Optional[str] = ..., is_default: _Optional[bool] = ...) -> None: ...

class ListKeyProvidersResponse(_message.Message):
    __slots__ = ("providers",)
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[KeyProviderInfo]
    def __init__(self, providers: _Optional[_Iterable[_Union[KeyProviderInfo, _Mapping]]] = ...) -> None: ...

class AddKeyProviderRequest(_message.Message):
    __slots__ = ("name", "kms_address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KMS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kms_address: str
    def __init__(self, name: _Optional[str] = ..., kms_address: _Optional[str] = ...) -> None: ...

class KeyProviderRef(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class BackupKeyProviderRequest(_message.Message):
    __slots__ = ("name", "password")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    password: str
    def __init__(self, name: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class BackupKeyProviderResponse(_message.Message):
    __slots__ = ("backup",)
    BACKUP_FIELD_NUMBER: _ClassVar[int]
    backup: bytes
    def __init__(self, backup: _Optional[bytes] = ...) -> None: ...

class RestoreKeyProviderRequest(_message.Message):
    __slots__ = ("backup", "password")
    BACKUP_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    backup: bytes
    password: str
    def __init__(self, backup: _Optional[bytes] = ..., password: _Optional[str] = ...) -> None: ...

class QueryPerfRequest(_message.Message):
    __slots__ = ("vm", "max_sample")
    VM_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    max_sample: int
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., max_sample: _Optional[int] = ...) -> None: ...

class PerfSample(_message.Message):
    __slots__ = ("time", "cpu_usage_percent", "mem_consumed_kb")
    TIME_FIELD_NUMBER: _ClassVar[int]
    CPU_USAGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEM_CONSUMED_KB_FIELD_NUMBER: _ClassVar[int]
    time: float
    cpu_usage_percent: float
    mem_consumed_kb: int
    def __init__(self, time: _Optional[float] = ..., cpu_usage_percent: _Optional[float] = ..., mem_consumed_kb: _Optional[int] = ...) -> None: ...

class QueryPerfResponse(_message.Message):
    __slots__ = ("vm", "instance_uuid", "interval_seconds", "samples", "departed")
    VM_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_UUID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DEPARTED_FIELD_NUMBER: _ClassVar[int]
    vm: str
    instance_uuid: str
    interval_seconds: float
    samples: _containers.RepeatedCompositeFieldContainer[PerfSample]
    departed: bool
    def __init__(self, vm: _Optional[str] = ..., instance_uuid: _Optional[str] = ..., interval_seconds: _Optional[float] = ..., samples: _Optional[_Iterable[_Union[PerfSample, _Mapping]]] = ..., departed: _Optional[bool] = ...) -> None: ...

class ListHostAnnouncementsResponse(_message.Message):
    __slots__ = ("announcements",)
    ANNOUNCEMENTS_FIELD_NUMBER: _ClassVar[int]
    announcements: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.NetworkAnnouncement]
    def __init__(self, announcements: _Optional[_Iterable[_Union[_inventory_pb2.NetworkAnnouncement, _Mapping]]] = ...) -> None: ...

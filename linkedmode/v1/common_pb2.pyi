import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MigrateEncryption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MIGRATE_ENCRYPTION_UNSPECIFIED: _ClassVar[MigrateEncryption]
    MIGRATE_ENCRYPTION_DISABLED: _ClassVar[MigrateEncryption]
    MIGRATE_ENCRYPTION_OPPORTUNISTIC: _ClassVar[MigrateEncryption]
    MIGRATE_ENCRYPTION_REQUIRED: _ClassVar[MigrateEncryption]

class PowerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POWER_STATE_UNSPECIFIED: _ClassVar[PowerState]
    POWER_STATE_POWERED_OFF: _ClassVar[PowerState]
    POWER_STATE_POWERED_ON: _ClassVar[PowerState]
    POWER_STATE_SUSPENDED: _ClassVar[PowerState]

class MovePriority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOVE_PRIORITY_UNSPECIFIED: _ClassVar[MovePriority]
    MOVE_PRIORITY_DEFAULT: _ClassVar[MovePriority]
    MOVE_PRIORITY_HIGH: _ClassVar[MovePriority]
    MOVE_PRIORITY_LOW: _ClassVar[MovePriority]

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_QUEUED: _ClassVar[TaskState]
    TASK_STATE_RUNNING: _ClassVar[TaskState]
    TASK_STATE_SUCCESS: _ClassVar[TaskState]
    TASK_STATE_ERROR: _ClassVar[TaskState]
MIGRATE_ENCRYPTION_UNSPECIFIED: MigrateEncryption
MIGRATE_ENCRYPTION_DISABLED: MigrateEncryption
MIGRATE_ENCRYPTION_OPPORTUNISTIC: MigrateEncryption
MIGRATE_ENCRYPTION_REQUIRED: MigrateEncryption
POWER_STATE_UNSPECIFIED: PowerState
POWER_STATE_POWERED_OFF: PowerState
POWER_STATE_POWERED_ON: PowerState
POWER_STATE_SUSPENDED: PowerState
MOVE_PRIORITY_UNSPECIFIED: MovePriority
MOVE_PRIORITY_DEFAULT: MovePriority
MOVE_PRIORITY_HIGH: MovePriority
MOVE_PRIORITY_LOW: MovePriority
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_QUEUED: TaskState
TASK_STATE_RUNNING: TaskState
TASK_STATE_SUCCESS: TaskState
TASK_STATE_ERROR: TaskState

class ObjectRef(_message.Message):
    __slots__ = ("moid", "name")
    MOID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    moid: str
    name: str
    def __init__(self, moid: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Fault(_message.Message):
    __slots__ = ("name", "object", "message", "arguments")
    class ArgumentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    object: str
    message: str
    arguments: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., object: _Optional[str] = ..., message: _Optional[str] = ..., arguments: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("key", "description_id", "entity", "entity_name", "state", "progress", "progress_detail", "cancelable", "cancelled", "error", "user", "queue_time", "start_time", "complete_time", "migration", "power", "reconfigure", "created", "bulk")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    ENTITY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_DETAIL_FIELD_NUMBER: _ClassVar[int]
    CANCELABLE_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    QUEUE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    RECONFIGURE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    BULK_FIELD_NUMBER: _ClassVar[int]
    key: str
    description_id: str
    entity: str
    entity_name: str
    state: TaskState
    progress: int
    progress_detail: str
    cancelable: bool
    cancelled: bool
    error: Fault
    user: str
    queue_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    migration: MigrationResult
    power: PowerResult
    reconfigure: ReconfigureResult
    created: ObjectRef
    bulk: BulkResult
    def __init__(self, key: _Optional[str] = ..., description_id: _Optional[str] = ..., entity: _Optional[str] = ..., entity_name: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., progress: _Optional[int] = ..., progress_detail: _Optional[str] = ..., cancelable: _Optional[bool] = ..., cancelled: _Optional[bool] = ..., error: _Optional[_Union[Fault, _Mapping]] = ..., user: _Optional[str] = ..., queue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., migration: _Optional[_Union[MigrationResult, _Mapping]] = ..., power: _Optional[_Union[PowerResult, _Mapping]] = ..., reconfigure: _Optional[_Union[ReconfigureResult, _Mapping]] = ..., created: _Optional[_Union[ObjectRef, _Mapping]] = ..., bulk: _Optional[_Union[BulkResult, _Mapping]] = ...) -> None: ...

class BulkResult(_message.Message):
    __slots__ = ("vms", "succeeded", "failed")
    VMS_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    vms: _containers.RepeatedCompositeFieldContainer[VmOutcome]
    succeeded: int
    failed: int
    def __init__(self, vms: _Optional[_Iterable[_Union[VmOutcome, _Mapping]]] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class VmOutcome(_message.Message):
    __slots__ = ("vm", "name", "succeeded", "fault", "migration", "task")
    VM_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    vm: str
    name: str
    succeeded: bool
    fault: Fault
    migration: MigrationResult
    task: str
    def __init__(self, vm: _Optional[str] = ..., name: _Optional[str] = ..., succeeded: _Optional[bool] = ..., fault: _Optional[_Union[Fault, _Mapping]] = ..., migration: _Optional[_Union[MigrationResult, _Mapping]] = ..., task: _Optional[str] = ...) -> None: ...

class MigrationResult(_message.Message):
    __slots__ = ("vm", "vcenter", "host", "mode_asked", "encrypted", "fell_back", "reason", "hot", "migration_id", "disks_moved", "queued_ms", "stream", "settled")
    VM_FIELD_NUMBER: _ClassVar[int]
    VCENTER_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    MODE_ASKED_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    FELL_BACK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    HOT_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    DISKS_MOVED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_MS_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SETTLED_FIELD_NUMBER: _ClassVar[int]
    vm: str
    vcenter: str
    host: str
    mode_asked: MigrateEncryption
    encrypted: bool
    fell_back: bool
    reason: str
    hot: bool
    migration_id: int
    disks_moved: int
    queued_ms: float
    stream: MigrationStreamFigures
    settled: str
    def __init__(self, vm: _Optional[str] = ..., vcenter: _Optional[str] = ..., host: _Optional[str] = ..., mode_asked: _Optional[_Union[MigrateEncryption, str]] = ..., encrypted: _Optional[bool] = ..., fell_back: _Optional[bool] = ..., reason: _Optional[str] = ..., hot: _Optional[bool] = ..., migration_id: _Optional[int] = ..., disks_moved: _Optional[int] = ..., queued_ms: _Optional[float] = ..., stream: _Optional[_Union[MigrationStreamFigures, _Mapping]] = ..., settled: _Optional[str] = ...) -> None: ...

class MigrationStreamFigures(_message.Message):
    __slots__ = ("encrypted", "rounds", "bytes_sent", "pages_sent", "zero_pages", "duration_ms", "mbps", "max_throttle", "downtime_ms", "disk_bytes")
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    PAGES_SENT_FIELD_NUMBER: _ClassVar[int]
    ZERO_PAGES_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    MBPS_FIELD_NUMBER: _ClassVar[int]
    MAX_THROTTLE_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_MS_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    encrypted: bool
    rounds: int
    bytes_sent: int
    pages_sent: int
    zero_pages: int
    duration_ms: float
    mbps: float
    max_throttle: float
    downtime_ms: float
    disk_bytes: int
    def __init__(self, encrypted: _Optional[bool] = ..., rounds: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., pages_sent: _Optional[int] = ..., zero_pages: _Optional[int] = ..., duration_ms: _Optional[float] = ..., mbps: _Optional[float] = ..., max_throttle: _Optional[float] = ..., downtime_ms: _Optional[float] = ..., disk_bytes: _Optional[int] = ...) -> None: ...

class PowerResult(_message.Message):
    __slots__ = ("power_state", "host")
    POWER_STATE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    power_state: PowerState
    host: str
    def __init__(self, power_state: _Optional[_Union[PowerState, str]] = ..., host: _Optional[str] = ...) -> None: ...

class ReconfigureResult(_message.Message):
    __slots__ = ("changed",)
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    changed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, changed: _Optional[_Iterable[str]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("key", "type", "created_time", "user", "vm", "vm_name", "host", "datacenter", "message", "arguments", "chain_id", "task")
    class ArgumentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    VM_FIELD_NUMBER: _ClassVar[int]
    VM_NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    DATACENTER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    key: int
    type: str
    created_time: _timestamp_pb2.Timestamp
    user: str
    vm: str
    vm_name: str
    host: str
    datacenter: str
    message: str
    arguments: _containers.ScalarMap[str, str]
    chain_id: int
    task: str
    def __init__(self, key: _Optional[int] = ..., type: _Optional[str] = ..., created_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user: _Optional[str] = ..., vm: _Optional[str] = ..., vm_name: _Optional[str] = ..., host: _Optional[str] = ..., datacenter: _Optional[str] = ..., message: _Optional[str] = ..., arguments: _Optional[_Mapping[str, str]] = ..., chain_id: _Optional[int] = ..., task: _Optional[str] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
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
    __slots__ = ("key", "description_id", "entity", "entity_name", "state", "progress", "progress_detail", "cancelable", "cancelled", "error", "result", "user", "queue_time", "start_time", "complete_time")
    class ResultEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
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
    RESULT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    QUEUE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
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
    result: _containers.ScalarMap[str, str]
    user: str
    queue_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., description_id: _Optional[str] = ..., entity: _Optional[str] = ..., entity_name: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., progress: _Optional[int] = ..., progress_detail: _Optional[str] = ..., cancelable: _Optional[bool] = ..., cancelled: _Optional[bool] = ..., error: _Optional[_Union[Fault, _Mapping]] = ..., result: _Optional[_Mapping[str, str]] = ..., user: _Optional[str] = ..., queue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("key", "type", "created_time", "user", "vm", "vm_name", "host", "datacenter", "message", "arguments", "task")
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
    task: str
    def __init__(self, key: _Optional[int] = ..., type: _Optional[str] = ..., created_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user: _Optional[str] = ..., vm: _Optional[str] = ..., vm_name: _Optional[str] = ..., host: _Optional[str] = ..., datacenter: _Optional[str] = ..., message: _Optional[str] = ..., arguments: _Optional[_Mapping[str, str]] = ..., task: _Optional[str] = ...) -> None: ...

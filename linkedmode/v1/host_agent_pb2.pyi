from linkedmode.v1 import common_pb2 as _common_pb2
from linkedmode.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

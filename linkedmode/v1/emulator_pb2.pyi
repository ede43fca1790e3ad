from linkedmode.v1 import common_pb2 as _common_pb2
from linkedmode.v1 import fault_rules_pb2 as _fault_rules_pb2
from linkedmode.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SetGuestWorkloadRequest(_message.Message):
    __slots__ = ("vm", "workload")
    VM_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    workload: _inventory_pb2.GuestWorkload
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., workload: _Optional[_Union[_inventory_pb2.GuestWorkload, _Mapping]] = ...) -> None: ...

class GuestMemoryWriteRequest(_message.Message):
    __slots__ = ("vm", "random_fraction", "marker", "page", "every_pages")
    VM_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FRACTION_FIELD_NUMBER: _ClassVar[int]
    MARKER_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    EVERY_PAGES_FIELD_NUMBER: _ClassVar[int]
    vm: _common_pb2.ObjectRef
    random_fraction: float
    marker: bytes
    page: int
    every_pages: int
    def __init__(self, vm: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., random_fraction: _Optional[float] = ..., marker: _Optional[bytes] = ..., page: _Optional[int] = ..., every_pages: _Optional[int] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("vms",)
    VMS_FIELD_NUMBER: _ClassVar[int]
    vms: int
    def __init__(self, vms: _Optional[int] = ...) -> None: ...

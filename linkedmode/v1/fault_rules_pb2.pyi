from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FaultRule(_message.Message):
    __slots__ = ("id", "step", "action", "part", "vm", "probability", "count", "delay_seconds", "fault", "fired")
    ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    VM_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    FIRED_FIELD_NUMBER: _ClassVar[int]
    id: str
    step: str
    action: str
    part: str
    vm: str
    probability: float
    count: int
    delay_seconds: float
    fault: str
    fired: int
    def __init__(self, id: _Optional[str] = ..., step: _Optional[str] = ..., action: _Optional[str] = ..., part: _Optional[str] = ..., vm: _Optional[str] = ..., probability: _Optional[float] = ..., count: _Optional[int] = ..., delay_seconds: _Optional[float] = ..., fault: _Optional[str] = ..., fired: _Optional[int] = ...) -> None: ...

class AddFaultRuleResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[FaultRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[FaultRule, _Mapping]]] = ...) -> None: ...

class ListFaultRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFaultRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[FaultRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[FaultRule, _Mapping]]] = ...) -> None: ...

class ClearFaultRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClearFaultRulesResponse(_message.Message):
    __slots__ = ("cleared",)
    CLEARED_FIELD_NUMBER: _ClassVar[int]
    cleared: int
    def __init__(self, cleared: _Optional[int] = ...) -> None: ...

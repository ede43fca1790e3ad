from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MigrationStep(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MIGRATION_STEP_UNSPECIFIED: _ClassVar[MigrationStep]
    MIGRATION_STEP_SPEC_EXCHANGE: _ClassVar[MigrationStep]
    MIGRATION_STEP_KEY_PUSH_DESTINATION: _ClassVar[MigrationStep]
    MIGRATION_STEP_KEY_PUSH_SOURCE: _ClassVar[MigrationStep]
    MIGRATION_STEP_PRECOPY_ROUND: _ClassVar[MigrationStep]
    MIGRATION_STEP_STUN: _ClassVar[MigrationStep]
    MIGRATION_STEP_FINAL_PAGES: _ClassVar[MigrationStep]
    MIGRATION_STEP_COMMIT: _ClassVar[MigrationStep]
    MIGRATION_STEP_RESUME: _ClassVar[MigrationStep]
    MIGRATION_STEP_SOURCE_CLEANUP: _ClassVar[MigrationStep]

class FaultAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAULT_ACTION_UNSPECIFIED: _ClassVar[FaultAction]
    FAULT_ACTION_ERROR: _ClassVar[FaultAction]
    FAULT_ACTION_DELAY: _ClassVar[FaultAction]
    FAULT_ACTION_DROP_CONNECTION: _ClassVar[FaultAction]
    FAULT_ACTION_KILL: _ClassVar[FaultAction]
    FAULT_ACTION_CORRUPT_FRAME: _ClassVar[FaultAction]
    FAULT_ACTION_REPLAY_FRAME: _ClassVar[FaultAction]
MIGRATION_STEP_UNSPECIFIED: MigrationStep
MIGRATION_STEP_SPEC_EXCHANGE: MigrationStep
MIGRATION_STEP_KEY_PUSH_DESTINATION: MigrationStep
MIGRATION_STEP_KEY_PUSH_SOURCE: MigrationStep
MIGRATION_STEP_PRECOPY_ROUND: MigrationStep
MIGRATION_STEP_STUN: MigrationStep
MIGRATION_STEP_FINAL_PAGES: MigrationStep
MIGRATION_STEP_COMMIT: MigrationStep
MIGRATION_STEP_RESUME: MigrationStep
MIGRATION_STEP_SOURCE_CLEANUP: MigrationStep
FAULT_ACTION_UNSPECIFIED: FaultAction
FAULT_ACTION_ERROR: FaultAction
FAULT_ACTION_DELAY: FaultAction
FAULT_ACTION_DROP_CONNECTION: FaultAction
FAULT_ACTION_KILL: FaultAction
FAULT_ACTION_CORRUPT_FRAME: FaultAction
FAULT_ACTION_REPLAY_FRAME: FaultAction

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
    step: MigrationStep
    action: FaultAction
    part: str
    vm: str
    probability: float
    count: int
    delay_seconds: float
    fault: str
    fired: int
    def __init__(self, id: _Optional[str] = ..., step: _Optional[_Union[MigrationStep, str]] = ..., action: _Optional[_Union[FaultAction, str]] = ..., part: _Optional[str] = ..., vm: _Optional[str] = ..., probability: _Optional[float] = ..., count: _Optional[int] = ..., delay_seconds: _Optional[float] = ..., fault: _Optional[str] = ..., fired: _Optional[int] = ...) -> None: ...

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

"""Enum and time conversions between the domain and the protos, shared by every servicer and client."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.timestamp_pb2 import Timestamp

from ..model.fault_rules import FaultAction, FaultRule
from ..model.faults import InvalidArgument
from ..model.migration import MigrationStep
from ..model.settings import MigrateEncryption, PowerState
from ..model.tasks import TaskState
from ..v1 import common_pb2, fault_rules_pb2

_POWER = {
    PowerState.POWERED_OFF: common_pb2.POWER_STATE_POWERED_OFF,
    PowerState.POWERED_ON: common_pb2.POWER_STATE_POWERED_ON,
    PowerState.SUSPENDED: common_pb2.POWER_STATE_SUSPENDED,
}
_MIGRATE = {
    MigrateEncryption.DISABLED: common_pb2.MIGRATE_ENCRYPTION_DISABLED,
    MigrateEncryption.OPPORTUNISTIC: common_pb2.MIGRATE_ENCRYPTION_OPPORTUNISTIC,
    MigrateEncryption.REQUIRED: common_pb2.MIGRATE_ENCRYPTION_REQUIRED,
}
_TASK = {
    TaskState.QUEUED: common_pb2.TASK_STATE_QUEUED,
    TaskState.RUNNING: common_pb2.TASK_STATE_RUNNING,
    TaskState.SUCCESS: common_pb2.TASK_STATE_SUCCESS,
    TaskState.ERROR: common_pb2.TASK_STATE_ERROR,
}
_STEP = {
    MigrationStep.SPEC_EXCHANGE: fault_rules_pb2.MIGRATION_STEP_SPEC_EXCHANGE,
    MigrationStep.KEY_PUSH_DESTINATION: fault_rules_pb2.MIGRATION_STEP_KEY_PUSH_DESTINATION,
    MigrationStep.KEY_PUSH_SOURCE: fault_rules_pb2.MIGRATION_STEP_KEY_PUSH_SOURCE,
    MigrationStep.PRECOPY_ROUND: fault_rules_pb2.MIGRATION_STEP_PRECOPY_ROUND,
    MigrationStep.STUN: fault_rules_pb2.MIGRATION_STEP_STUN,
    MigrationStep.FINAL_PAGES: fault_rules_pb2.MIGRATION_STEP_FINAL_PAGES,
    MigrationStep.COMMIT: fault_rules_pb2.MIGRATION_STEP_COMMIT,
    MigrationStep.RESUME: fault_rules_pb2.MIGRATION_STEP_RESUME,
    MigrationStep.SOURCE_CLEANUP: fault_rules_pb2.MIGRATION_STEP_SOURCE_CLEANUP,
}
_ACTION = {
    FaultAction.ERROR: fault_rules_pb2.FAULT_ACTION_ERROR,
    FaultAction.DELAY: fault_rules_pb2.FAULT_ACTION_DELAY,
    FaultAction.DROP_CONNECTION: fault_rules_pb2.FAULT_ACTION_DROP_CONNECTION,
    FaultAction.KILL: fault_rules_pb2.FAULT_ACTION_KILL,
    FaultAction.CORRUPT_FRAME: fault_rules_pb2.FAULT_ACTION_CORRUPT_FRAME,
    FaultAction.REPLAY_FRAME: fault_rules_pb2.FAULT_ACTION_REPLAY_FRAME,
}
E = TypeVar("E", bound=Enum)


def _back(table: Mapping[E, int]) -> dict[int, E]:
    return {number: member for member, number in table.items()}


_POWER_BACK = _back(_POWER)
_MIGRATE_BACK = _back(_MIGRATE)
_STEP_BACK = _back(_STEP)
_ACTION_BACK = _back(_ACTION)


def _from_proto(back: Mapping[int, E], value: int, argument: str, wire: EnumTypeWrapper) -> E:
    """Refuses UNSPECIFIED and numbers this API does not define (proto3 enums are open)."""
    found = back.get(value)
    if found is None:
        allowed = ", ".join(f"{wire.Name(number)} ({number})" for number in back)
        raise InvalidArgument(f"{argument} {value} is not one of {allowed}", argument=argument)
    return found


def power_state_to_proto(value: PowerState) -> common_pb2.PowerState:
    return _POWER[value]


def power_state_from_proto(value: int) -> PowerState:
    return _from_proto(_POWER_BACK, value, "power_state", common_pb2.PowerState)


def migrate_encryption_to_proto(value: MigrateEncryption) -> common_pb2.MigrateEncryption:
    return _MIGRATE[value]


def migrate_encryption_from_proto(value: int) -> MigrateEncryption:
    return _from_proto(_MIGRATE_BACK, value, "migrate_encryption", common_pb2.MigrateEncryption)


def task_state_to_proto(value: TaskState) -> common_pb2.TaskState:
    return _TASK[value]


def migration_step_to_proto(value: MigrationStep) -> fault_rules_pb2.MigrationStep:
    return _STEP[value]


def migration_step_from_proto(value: int) -> MigrationStep:
    return _from_proto(_STEP_BACK, value, "step", fault_rules_pb2.MigrationStep)


def fault_action_to_proto(value: FaultAction) -> fault_rules_pb2.FaultAction:
    return _ACTION[value]


def fault_action_from_proto(value: int) -> FaultAction:
    """FAULT_ACTION_UNSPECIFIED reads as ERROR, the action of a rule that names none."""
    if value == fault_rules_pb2.FAULT_ACTION_UNSPECIFIED:
        return FaultAction.ERROR
    return _from_proto(_ACTION_BACK, value, "action", fault_rules_pb2.FaultAction)


def timestamp(seconds: float) -> Timestamp | None:
    if not seconds:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def fault_rule_to_proto(rule: FaultRule) -> fault_rules_pb2.FaultRule:
    return fault_rules_pb2.FaultRule(id=rule.id, step=migration_step_to_proto(rule.step), action=fault_action_to_proto(rule.action),
                                     part=rule.part, vm=rule.vm, probability=rule.probability, count=rule.count,
                                     delay_seconds=rule.delay_seconds, fault=rule.fault, fired=rule.fired)


def fault_rule_from_proto(message: fault_rules_pb2.FaultRule) -> FaultRule:
    """A rule as a client wrote it: unset probability means always, unset action means ERROR, unset fault SystemError."""
    return FaultRule(step=migration_step_from_proto(message.step), action=fault_action_from_proto(message.action),
                     part=message.part, vm=message.vm, probability=message.probability if message.probability else 1.0,
                     count=message.count, delay_seconds=message.delay_seconds, fault=message.fault or "SystemError").check()

"""Enum and time conversions between the domain and the protos, shared by every servicer and client."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from ..model.fault_rules import FaultRule
from ..model.faults import InvalidArgument
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


_POWER_BACK = {v: k for k, v in _POWER.items()}
_MIGRATE_BACK = {v: k for k, v in _MIGRATE.items()}
_TASK_BACK = {v: k for k, v in _TASK.items()}


def power_state_to_proto(value: PowerState) -> int:
    return _POWER[value]


def power_state_from_proto(value: int) -> PowerState:
    found = _POWER_BACK.get(value)
    if found is None:
        allowed = ", ".join(f"{common_pb2.PowerState.Name(v)} ({v})" for v in _POWER.values())
        raise InvalidArgument(f"power_state {value} is not one of {allowed}", argument="power_state")
    return found


def migrate_encryption_to_proto(value: MigrateEncryption) -> int:
    return _MIGRATE[value]


def migrate_encryption_from_proto(value: int) -> MigrateEncryption:
    """Refuses UNSPECIFIED and numbers this API does not define (proto3 enums are open)."""
    found = _MIGRATE_BACK.get(value)
    if found is None:
        allowed = ", ".join(f"{common_pb2.MigrateEncryption.Name(v)} ({v})" for v in _MIGRATE.values())
        raise InvalidArgument(f"migrate_encryption {value} is not one of {allowed}", argument="migrate_encryption")
    return found


def task_state_to_proto(value: TaskState) -> int:
    return _TASK[value]


def task_state_from_proto(value: int) -> TaskState:
    return _TASK_BACK[value]


def timestamp(seconds: float) -> Timestamp | None:
    if not seconds:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def fault_rule_to_proto(rule: FaultRule) -> fault_rules_pb2.FaultRule:
    return fault_rules_pb2.FaultRule(id=rule.id, step=rule.step, action=rule.action, part=rule.part, vm=rule.vm,
                                     probability=rule.probability, count=rule.count, delay_seconds=rule.delay_seconds,
                                     fault=rule.fault, fired=rule.fired)


def fault_rule_from_proto(message: fault_rules_pb2.FaultRule) -> FaultRule:
    """A rule as a client wrote it: unset probability means always, unset fault means SystemError."""
    return FaultRule(step=message.step, action=message.action or "error", part=message.part, vm=message.vm,
                     probability=message.probability if message.probability else 1.0, count=message.count,
                     delay_seconds=message.delay_seconds, fault=message.fault or "SystemError").check()

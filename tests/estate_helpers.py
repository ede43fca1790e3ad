"""Helpers shared by the tests: clients of a running estate, tasks followed to their end, faults read."""

from __future__ import annotations

import grpc
import pytest

from linkedmode.client import VCenterClient, connect_vcenter
from linkedmode.estate import Estate
from linkedmode.model.fault_rules import action_named, step_named
from linkedmode.model.faults import Fault
from linkedmode.rpc.convert import fault_action_to_proto, migration_step_from_proto, migration_step_to_proto
from linkedmode.rpc.faults import fault_from_error, fault_from_proto
from linkedmode.v1 import common_pb2, fault_rules_pb2, vcenter_pb2


def client_of(estate: Estate, vcenter: str, user: str = "administrator") -> VCenterClient:
    server = estate.vcenters[vcenter]
    credential = estate.credential(server.domain.name, "user", user)
    return connect_vcenter(server.address, credential, vcenter)


def wait_task(client: VCenterClient, task: common_pb2.Task) -> common_pb2.Task:
    """Follows a task through WaitTask to its end."""
    last = task
    for update in client.api.WaitTask(vcenter_pb2.GetTaskRequest(key=task.key), timeout=60):
        last = update
    return last


def task_fault(task: common_pb2.Task) -> Fault:
    assert task.state == common_pb2.TASK_STATE_ERROR, f"task {task.key} did not fail: {task}"
    return fault_from_proto(task.error)


def call_fault(call, *args, **kwargs) -> tuple[grpc.StatusCode, Fault]:
    """Makes a call that must fail; returns its status code and the Fault it carried."""
    with pytest.raises(grpc.RpcError) as failure:
        call(*args, **kwargs)
    return failure.value.code(), fault_from_error(failure.value)


def fault_rule(step: str = "", action: str = "", **fields) -> fault_rules_pb2.FaultRule:
    """A FaultRule message with its step and action named as in a topology file ("stun", "kill")."""
    rule = fault_rules_pb2.FaultRule(**fields)
    if step:
        rule.step = migration_step_to_proto(step_named(step))
    if action:
        rule.action = fault_action_to_proto(action_named(action))
    return rule


def step_of(rule: fault_rules_pb2.FaultRule) -> str:
    """The step of a FaultRule message, by name."""
    return migration_step_from_proto(rule.step).value


def vm_ref(name: str) -> common_pb2.ObjectRef:
    return common_pb2.ObjectRef(name=name)


def rss_bytes() -> int:
    """This process's resident memory now (VmRSS)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")

"""Faults as Python exceptions: a failed call raises the vSphere fault it carried.

Every fault is a class of linkedmode.model.faults (`InvalidPowerState`, `NotFound`, ...) under the one
base `Fault`; this module names them for clients and turns a failed gRPC call into one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from ..model.faults import Fault, NotFound, all_faults
from ..rpc.faults import fault_from_error, fault_from_proto
from ..v1 import common_pb2


@contextmanager
def faults_raised() -> Iterator[None]:
    """Inside it, a failed call (`grpc.RpcError`) is raised as the fault it carried, the RpcError as its cause:

        with faults_raised():
            vc.api.GetVm(common_pb2.ObjectRef(name="nope"))    # raises NotFound
    """
    try:
        yield
    except grpc.RpcError as error:
        raise fault_from_error(error) from error


def task_fault(task: common_pb2.Task) -> Fault | None:
    """The fault a task ended with, or None when it did not fail."""
    return fault_from_proto(task.error) if task.state == common_pb2.TASK_STATE_ERROR else None


def fault_class(name: str) -> type[Fault]:
    """The class of a fault by its vSphere name; NotFound when the emulator knows no such fault."""
    known = all_faults()
    if name not in known:
        raise NotFound(f"no fault named {name!r}", object=name)
    return known[name]

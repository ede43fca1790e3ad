"""The one place where faults meet gRPC: a Fault becomes a status with a `Fault` detail, and back."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2  # type: ignore[import-untyped]  # googleapis-common-protos ships no stubs
from grpc_status import rpc_status

from ..model import faults
from ..v1 import common_pb2


def fault_to_proto(fault: faults.Fault) -> common_pb2.Fault:
    return common_pb2.Fault(name=fault.name, object=fault.object, message=fault.message, arguments=fault.arguments)


def fault_from_proto(message: common_pb2.Fault) -> faults.Fault:
    known = faults.all_faults()
    cls = known.get(message.name, faults.Fault)
    fault = cls(message.message, object=message.object, **dict(message.arguments))
    if message.name not in known:   # a fault this client does not know yet: keep its name
        fault.arguments.setdefault("fault", message.name)
    return fault


def status_code(fault: faults.Fault) -> grpc.StatusCode:
    return grpc.StatusCode[fault.code]


# A status travels in trailing metadata, which a client takes only up to 8 KiB of (grpc.max_metadata_size):
# a fault that quotes a long value is cut short rather than lost.
MAX_STATUS_MESSAGE = 1000
MAX_STATUS_FIELD = 200


def _clip(text: str, limit: int) -> str:
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode(errors="ignore") + "..."


def fault_status(fault: faults.Fault) -> grpc.Status:
    message = fault_to_proto(fault)
    message.message = _clip(message.message, MAX_STATUS_MESSAGE)
    message.object = _clip(message.object, MAX_STATUS_FIELD)
    for key, value in list(message.arguments.items()):
        message.arguments[key] = _clip(value, MAX_STATUS_FIELD)
    detail = any_pb2.Any()
    detail.Pack(message)
    status = status_pb2.Status(code=status_code(fault).value[0], message=f"{fault.name}: {message.message}", details=[detail])
    answer: grpc.Status = rpc_status.to_status(status)
    return answer


async def abort(context: Any, fault: faults.Fault) -> NoReturn:   # a grpc.aio.ServicerContext
    """Ends the call with the fault's status. Raises, as context.abort does."""
    status = fault_status(fault)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("context.abort returned")   # it raises grpc.aio.AbortError


def fault_from_error(error: grpc.RpcError) -> faults.Fault:
    """The fault a failed call carried; a transport failure becomes HostCommunication-like faults."""
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            message = common_pb2.Fault()
            if detail.Unpack(message):
                return fault_from_proto(message)
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    text = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.UNAVAILABLE:
        return faults.PeerUnreachable(
            f"no connection ({text}): the server is down, or the TLS handshake failed "
            "(a client certificate from another SSO domain's CA, an expired one, or none)",
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return faults.Timedout(f"the call timed out: {text}")
    return faults.SystemError(f"{code.name}: {text}")

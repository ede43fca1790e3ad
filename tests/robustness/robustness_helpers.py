"""What the robustness tests share: every method of the API, a raw call to any of them, the good call
that shows a part still serves, and the hypothesis settings of the fuzzers."""

from __future__ import annotations

import os

import grpc
from google.protobuf.descriptor import MethodDescriptor
from grpc_status import rpc_status
from hypothesis import HealthCheck, settings

from linkedmode.model.faults import Fault
from linkedmode.rpc.faults import fault_from_error
from linkedmode.v1 import emulator_pb2, fault_rules_pb2, host_agent_pb2, linked_mode_pb2, vcenter_pb2

SERVICES = {
    "linkedmode.v1.VCenter": vcenter_pb2,
    "linkedmode.v1.LinkedMode": linked_mode_pb2,
    "linkedmode.v1.Emulator": emulator_pb2,
    "linkedmode.v1.HostAgent": host_agent_pb2,
}

# A call each service answers whatever state the estate is in.
GOOD_CALLS = {
    "linkedmode.v1.VCenter": ("GetAbout", vcenter_pb2.GetAboutRequest()),
    "linkedmode.v1.LinkedMode": ("ListPeers", linked_mode_pb2.ListPeersRequest()),
    "linkedmode.v1.Emulator": ("ListFaultRules", fault_rules_pb2.ListFaultRulesRequest()),
    "linkedmode.v1.HostAgent": ("GetAbout", host_agent_pb2.HostAboutRequest()),
}

# Codes a bad request may get without a Fault detail: gRPC's own refusal of an oversize message, and
# a stream that rightly goes on (WatchEvents) until the client's deadline.
CODES_WITHOUT_FAULT = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}

# Hypothesis: briefly and the same every time in CI; LINKEDMODE_FUZZ_EXAMPLES=5000 for a long, random run.
LONG_RUN = "LINKEDMODE_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(max_examples=int(os.environ.get("LINKEDMODE_FUZZ_EXAMPLES", "50")), deadline=None, database=None,
                derandomize=not LONG_RUN, print_blob=LONG_RUN,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def every_method() -> list[MethodDescriptor]:
    """Every method of the four services, from the generated descriptors: a new method shows up here."""
    return [method for name, module in SERVICES.items()
            for method in module.DESCRIPTOR.services_by_name[name.rsplit(".", 1)[1]].methods]


def method_id(method: MethodDescriptor) -> str:
    return f"{method.containing_service.name}/{method.name}"


def invoke(channel: grpc.Channel, method: MethodDescriptor, payload: bytes, timeout: float = 10) -> None:
    """Sends `payload` (the bytes of a request, or anything else) to `method`; a stream is read to its end."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    if method.server_streaming:
        for _ in channel.unary_stream(path)(payload, timeout=timeout):
            pass
    else:
        channel.unary_unary(path)(payload, timeout=timeout)


def refusal(channel: grpc.Channel, method: MethodDescriptor, payload: bytes, timeout: float = 10) -> grpc.RpcError | None:
    """The error a call ended with; None when it succeeded."""
    try:
        invoke(channel, method, payload, timeout)
    except grpc.RpcError as error:
        return error
    return None


def fault_detail(error: grpc.RpcError) -> Fault | None:
    """The Fault in the status details, if the server put one there."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    return fault_from_error(error) if status is not None and status.details else None


def assert_still_serving(channels: dict[str, grpc.Channel], service: str) -> None:
    name, request = GOOD_CALLS[service]
    method = SERVICES[service].DESCRIPTOR.services_by_name[service.rsplit(".", 1)[1]].methods_by_name[name]
    invoke(channels[service], method, request.SerializeToString(), timeout=10)

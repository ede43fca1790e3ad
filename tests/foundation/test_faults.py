"""One fault hierarchy, mapped in one place to gRPC codes, carried as a Fault detail."""

from __future__ import annotations

import grpc
import pytest

from linkedmode.model import faults
from linkedmode.rpc.faults import fault_from_proto, fault_status, fault_to_proto, status_code


@pytest.mark.parametrize("cls", sorted(faults.all_faults().values(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_fault_maps_to_a_grpc_code_and_back(cls):
    fault = cls("something went wrong", object="vm-7", requested_state="poweredOff")
    assert isinstance(status_code(fault), grpc.StatusCode)
    status = fault_status(fault)
    assert status.code == status_code(fault) and status.details == f"{cls.__name__}: something went wrong"
    back = fault_from_proto(fault_to_proto(fault))
    assert type(back) is cls and back.object == "vm-7" and back.arguments == {"requested_state": "poweredOff"}


def test_codes_are_the_ones_vsphere_faults_deserve():
    assert status_code(faults.InvalidPowerState("x")) == grpc.StatusCode.FAILED_PRECONDITION
    assert status_code(faults.NotFound("x")) == grpc.StatusCode.NOT_FOUND
    assert status_code(faults.InvalidArgument("x")) == grpc.StatusCode.INVALID_ARGUMENT
    assert status_code(faults.NoPermission("x")) == grpc.StatusCode.PERMISSION_DENIED
    assert status_code(faults.HostNotConnected("x")) == grpc.StatusCode.UNAVAILABLE
    assert status_code(faults.MigrationFeatureNotSupported("x")) == grpc.StatusCode.FAILED_PRECONDITION


def test_an_unknown_fault_name_from_a_newer_server_still_reads():
    from linkedmode.v1 import common_pb2

    fault = fault_from_proto(common_pb2.Fault(name="SomeFutureFault", message="new"))
    assert type(fault) is faults.Fault and fault.arguments["fault"] == "SomeFutureFault"

"""Every method of every service, fuzzed over mutual TLS: requests generated from the message
descriptors (any value of each field's type: huge strings, NaN and infinities, enum numbers the API
does not define, long lists, nested messages), and bytes that are no message at all. No answer may be
UNKNOWN or INTERNAL, every refusal carries a Fault, and the part answers a good call afterwards.

Generated strings are now and then names the estate knows, to get past "not found"; but no real
migration starts (a RelocateVm never names a known target), guest memory sizes skip the band a host
would really allocate, and whatever a prepare took is aborted at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st
from robustness_helpers import CODES_WITHOUT_FAULT, FUZZ, assert_still_serving, every_method, fault_detail, invoke, method_id, refusal

from linkedmode.v1 import (
    common_pb2,
    emulator_pb2,
    emulator_pb2_grpc,
    fault_rules_pb2,
    host_agent_pb2,
    host_agent_pb2_grpc,
    inventory_pb2,
    linked_mode_pb2,
    vcenter_pb2,
)

MAX_DEPTH = 3
# Names the estate knows, mixed into string fields of these names so that requests get past "not found".
KNOWN = {
    "name": ["app-disabled", "batch-off", "db-encrypted", "dc-a", "esx-a1"], "moid": ["vm-10", "host-3", "datacenter-1"],
    "vm": ["app-disabled", "vm-10"], "key": ["task-vc-a-1"], "source_vcenter": ["vc-b"],
    "host": ["esx-a1", "esx-a2", "host-3"], "datastore": ["ds-a-shared"], "pool": ["cluster-a"],
}
MIGRATION_TARGETS = ("host", "datastore", "pool")    # never known in a RelocateVm: it would start a real migration
# A few MB, or more than any host of the estate has: never the gigabytes a host would really allocate.
MEMORY_MB = st.integers(1, 4) | st.integers(-2**63, 0) | st.integers(1 << 17, 2**63 - 1)

INTEGERS = {
    FieldDescriptor.TYPE_INT32: st.integers(-2**31, 2**31 - 1), FieldDescriptor.TYPE_INT64: st.integers(-2**63, 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1), FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED32: st.integers(0, 2**32 - 1), FieldDescriptor.TYPE_FIXED64: st.integers(0, 2**64 - 1),
}
# Plain values, that every check at the door lets through, so that a request gets to what lies behind it ...
PLAIN = {
    **INTEGERS, FieldDescriptor.TYPE_STRING: st.text(max_size=40), FieldDescriptor.TYPE_BYTES: st.binary(max_size=64),
    FieldDescriptor.TYPE_BOOL: st.booleans(), FieldDescriptor.TYPE_DOUBLE: st.floats(-1e12, 1e12),
    FieldDescriptor.TYPE_FLOAT: st.floats(-1e6, 1e6),
}
# ... and wild ones: oversize text and bytes (ASCII, and two bytes a character), NaN and the infinities.
WILD = {
    **PLAIN,
    FieldDescriptor.TYPE_STRING: PLAIN[FieldDescriptor.TYPE_STRING] | st.integers(500, 1500).map("\u00e9".__mul__)
    | st.integers(1025, 20_000).map("x".__mul__),
    FieldDescriptor.TYPE_BYTES: PLAIN[FieldDescriptor.TYPE_BYTES] | st.integers(65_000, 70_000).map(b"\x01".__mul__),
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
    FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=True, allow_infinity=True),
}
SMALL = {FieldDescriptor.TYPE_STRING: "x", FieldDescriptor.TYPE_BYTES: b"x", FieldDescriptor.TYPE_BOOL: True,
         FieldDescriptor.TYPE_DOUBLE: 1.0, FieldDescriptor.TYPE_FLOAT: 1.0}


@dataclass(frozen=True)
class Messages:
    """Strategies for the messages of a method, built from their descriptors."""

    known: dict[str, list[str]]
    wild: bool                      # also values no check at the door lets through

    def of(self, descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy:
        """Messages of this type with any subset of their fields set to anything of the field's type."""
        cls = message_factory.GetMessageClass(descriptor)
        if depth > MAX_DEPTH:
            return st.just(cls())
        fields = {f.name: (self.entries(f, depth) if f.is_repeated else self.value(f, depth)) for f in descriptor.fields}
        return st.fixed_dictionaries({}, optional=fields).map(lambda values: build(cls, values))

    def value(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy:
        if field.name == "memory_mb":
            return MEMORY_MB
        if field.type == FieldDescriptor.TYPE_STRING and field.name in self.known:
            return st.sampled_from(self.known[field.name]) | PLAIN[field.type]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return self.of(field.message_type, depth + 1)
        if field.type == FieldDescriptor.TYPE_ENUM:
            defined = st.sampled_from([v.number for v in field.enum_type.values])
            return defined | st.integers(-2**31, 2**31 - 1) if self.wild else defined
        return (WILD if self.wild else PLAIN)[field.type]

    def entries(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            return st.dictionaries(self.value(key, depth), self.value(value, depth), max_size=3)
        few = st.lists(self.value(field, depth), max_size=4)
        if not self.wild:
            return few
        small = self.value(field, MAX_DEPTH) if field.message_type else st.just(SMALL.get(field.type, 1))
        many = st.tuples(small, st.integers(1020, 1100)).map(lambda item_count: [item_count[0]] * item_count[1])
        return few | many        # many: one small item, about as many times as a list may hold (1024)


def build(cls, values: dict):  # type: ignore[no-untyped-def]
    message = cls()
    for name, value in values.items():
        assign(message, name, value)
    return message


def assign(message, name: str, value) -> None:  # type: ignore[no-untyped-def]
    message.ClearField(name)
    field = getattr(message, name)
    if isinstance(value, dict):
        field.update(value)
    elif isinstance(value, list):
        field.extend(value)
    elif hasattr(field, "CopyFrom"):
        field.CopyFrom(value)
    else:
        setattr(message, name, value)


def fields_of(message) -> list[tuple[Message, FieldDescriptor]]:  # type: ignore[no-untyped-def]
    """Every field of a message and of the sub-messages it has set, with the message that holds it."""
    found = []
    for field in message.DESCRIPTOR.fields:
        found.append((message, field))
        if field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated and message.HasField(field.name):
            found += fields_of(getattr(message, field.name))
    return found


@st.composite
def mutants(draw, template: Message, messages: Messages) -> Message:  # type: ignore[no-untyped-def]
    """A good request with one or two of its fields (at any depth) set to anything."""
    message = type(template)()
    message.CopyFrom(template)
    for _ in range(draw(st.integers(1, 2))):
        holder, field = draw(st.sampled_from(fields_of(message)))
        assign(holder, field.name, draw(messages.entries(field, 0) if field.is_repeated else messages.value(field, 0)))
    return message


def templates(running_vm: str) -> dict[str, Message]:
    """Requests that would go through, for the methods with checks deep inside: mutants of them get there."""
    vm = inventory_pb2.VirtualMachine(name="visitor", instance_uuid="42000000-0000-0000-0000-00000000f00d", memory_mb=4, num_cpu=1,
                                      power_state=common_pb2.POWER_STATE_POWERED_ON,
                                      migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_OPPORTUNISTIC)
    config = inventory_pb2.VmConfig(instance_uuid=vm.instance_uuid, name="visitor", memory_mb=4, num_cpu=1)
    spec = host_agent_pb2.MigrationSpec(migration_id=77, vm=config, encrypted=True, key=bytes(range(1, 33)), nonce=bytes(8))
    arrival = linked_mode_pb2.IncomingMigrationRequest(vm=vm, source_vcenter="vc-b", source_host="esx-b1", host="esx-a1",
                                                       datastore="ds-a-shared", hot=True, migration_id=77, spec=spec)
    rule = fault_rules_pb2.FaultRule(step=fault_rules_pb2.MIGRATION_STEP_STUN, action=fault_rules_pb2.FAULT_ACTION_ERROR, part="esx-a2",
                                     fault="SystemError")
    return {
        "VCenter/ReconfigVm": vcenter_pb2.ReconfigVmRequest(vm=common_pb2.ObjectRef(name="batch-off"),
                                                            spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=3)),
        "VCenter/RelocateVm": vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="app-disabled"),
                                                            spec=vcenter_pb2.RelocateSpec(host="esx-nowhere")),
        "VCenter/CheckRelocate": vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="app-disabled"),
                                                               spec=vcenter_pb2.RelocateSpec(host="esx-nowhere")),
        "VCenter/QueryEvents": vcenter_pb2.EventFilter(vm="app-disabled", types=["VmPoweredOnEvent"], limit=10),
        "LinkedMode/CheckMigration": arrival,
        "LinkedMode/ReserveMigration": arrival,
        "LinkedMode/PrepareMigration": arrival,
        "Emulator/AddFaultRule": rule,
        "Emulator/SetGuestWorkload": emulator_pb2.SetGuestWorkloadRequest(
            vm=common_pb2.ObjectRef(name="batch-off"), workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=1, working_set_mb=4)),
        "VCenter/CreateVm": vcenter_pb2.CreateVmRequest(
            name="fuzzed", host="esx-a1", datastore="ds-a-shared", memory_mb=4,
            disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=1)], nics=[vcenter_pb2.VirtualNicSpec(network="VM Network")]),
        "VCenter/CreateSnapshot": vcenter_pb2.CreateSnapshotRequest(vm=common_pb2.ObjectRef(name="batch-off"), name="fuzzed"),
        "HostAgent/RegisterVm": config,
        "HostAgent/PrepareDestination": spec,
        "HostAgent/PrepareSource": host_agent_pb2.PrepareSourceRequest(
            spec=host_agent_pb2.MigrationSpec(migration_id=78, vm=inventory_pb2.VmConfig(instance_uuid=running_vm, memory_mb=4)),
            destination_vmotion_address="127.0.0.1:1"),
        "HostAgent/WriteGuestMemory": host_agent_pb2.WriteGuestMemoryRequest(instance_uuid=running_vm, marker=b"m"),
        "HostAgent/AddFaultRule": rule,
    }


def payloads(method, template: Message | None) -> st.SearchStrategy[bytes]:  # type: ignore[no-untyped-def]
    """Plain requests, wild ones, mutants of a good one, and bytes that are no message at all."""
    known = {k: v for k, v in KNOWN.items() if method.name != "RelocateVm" or k not in MIGRATION_TARGETS}
    plain, wild = Messages(known, wild=False), Messages(known, wild=True)
    messages = plain.of(method.input_type) | wild.of(method.input_type)
    if template is not None:
        messages = mutants(template, plain) | mutants(template, wild) | messages
    return messages.map(lambda m: m.SerializeToString()) | st.binary(max_size=64)


PREPARES = {"PrepareDestination": lambda r: r.migration_id, "PrepareSource": lambda r: r.spec.migration_id,
            "PrepareMigration": lambda r: r.migration_id}


def undo(channels, method, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    """What a call that went through left behind: a prepare holds memory and a key until it is aborted,
    a fault rule waits for a migration to break."""
    channel, service = channels[method.containing_service.full_name], method.containing_service
    if method.name in PREPARES:
        request = message_factory.GetMessageClass(method.input_type).FromString(payload)
        abort = service.methods_by_name["AbortMigration"]
        reason = message_factory.GetMessageClass(abort.input_type)(migration_id=PREPARES[method.name](request), reason="fuzzed")
        invoke(channel, abort, reason.SerializeToString())
    elif method.name == "AddFaultRule":
        invoke(channel, service.methods_by_name["ClearFaultRules"], b"")


def assert_refused_cleanly(channels, method, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    service = method.containing_service.full_name
    # A stream that rightly goes on (WatchEvents with a filter nothing matches) ends at the deadline.
    error = refusal(channels[service], method, payload, timeout=0.1 if method.server_streaming else 15)
    if error is None:
        undo(channels, method, payload)
    else:
        code = error.code()
        assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), f"{method_id(method)}: {code}: {error.details()}"
        if code not in CODES_WITHOUT_FAULT:
            assert fault_detail(error) is not None, f"{method_id(method)}: {code} without a Fault: {error.details()}"


FIELDLESS_EXAMPLES = 10     # a request without fields is either empty or garbage: a few examples say it all
# Methods whose fuzzing may leave the estate changed (VMs powered off, dropped, reconfigured): it is reset after them.
CHANGING = {"PowerOnVm", "PowerOffVm", "ReconfigVm", "RelocateVm", "UnregisterVm", "Reset", "ReserveMigration",
            "CreateVm", "DestroyVm", "CreateSnapshot", "RemoveSnapshot", "SetGuestWorkload"}


@pytest.fixture
def running_vm(channels) -> str:
    """A 4 MB guest running on esx-a1 (the estate's own VMs are larger: every fill of theirs costs more)."""
    host = host_agent_pb2_grpc.HostAgentStub(channels["linkedmode.v1.HostAgent"])
    guest = inventory_pb2.VmConfig(instance_uuid="42000000-0000-0000-0000-00000000beef", name="fuzz-guest", memory_mb=4)
    if host.RegisterVm(guest).power_state != common_pb2.POWER_STATE_POWERED_ON:
        host.PowerOnVm(host_agent_pb2.VmRequest(instance_uuid=guest.instance_uuid))
    return guest.instance_uuid


def reset(channels) -> None:  # type: ignore[no-untyped-def]
    emulator = emulator_pb2_grpc.EmulatorStub(channels["linkedmode.v1.Emulator"])
    emulator.Reset(emulator_pb2.ResetRequest(), timeout=30)


@pytest.mark.parametrize("method", every_method(), ids=method_id)
def test_no_request_makes_a_part_fail_or_stop(channels, running_vm, method):
    @settings(FUZZ, max_examples=FUZZ.max_examples if method.input_type.fields else FIELDLESS_EXAMPLES)
    @given(payloads(method, templates(running_vm).get(method_id(method))))
    def fuzz(payload: bytes) -> None:
        assert_refused_cleanly(channels, method, payload)

    fuzz()
    assert_still_serving(channels, method.containing_service.full_name)   # a dead part would fail the next example too
    if method.name in CHANGING:
        reset(channels)


def test_nothing_fuzzed_is_left_prepared(estate, channels):
    """Runs after the fuzzing above (same module, same estate): every prepare was aborted, and nothing stays."""
    assert not estate.vcenters["vc-a"].vcenter.arrivals.pending()
    assert not [host for host in estate.hosts.values() if host.migrations.snapshots()]

"""Checking what a step expects against what happened: each check returns the reasons it failed, in
words a reader of the scenario recognises (empty: it held)."""

from __future__ import annotations

from ..client import Client, describe_result, fault_class, task_fault
from ..estate import Estate
from ..invariant import settled_invariant
from ..model.faults import Fault, HostCommunication
from ..rpc.convert import migrate_encryption_from_proto
from ..rpc.faults import fault_from_proto
from ..v1 import common_pb2, inventory_pb2, vcenter_pb2
from .model import (
    Bound,
    CheckExpectation,
    Crossing,
    EventExpectation,
    Figure,
    HostExpectation,
    TaskExpectation,
    TaskState,
    VmExpectation,
)

_POWER = {common_pb2.POWER_STATE_POWERED_ON: "on", common_pb2.POWER_STATE_POWERED_OFF: "off",
          common_pb2.POWER_STATE_SUSPENDED: "suspended"}


def outcome(task: common_pb2.Task | None, fault: Fault | None) -> str:
    """What a task step ended with, in one line."""
    if task is None:
        return f"the call was refused: {fault}"
    if task.HasField("migration"):
        r = task.migration
        return f"{describe_result(task)}; on {r.vcenter}/{r.host}" if task_fault(task) is None else describe_result(task)
    ended = task_fault(task)
    return f"failed: {ended}" if ended is not None else "success"


def crossing_of(result: common_pb2.MigrationResult) -> Crossing:
    if result.encrypted:
        return Crossing.ENCRYPTED
    return Crossing.FALLBACK if result.fell_back else Crossing.PLAINTEXT


def task_problems(task: common_pb2.Task | None, refused: Fault | None, expect: TaskExpectation) -> list[str]:
    """`task` as it ended (None when the call itself was refused with `refused`)."""
    fault = refused if task is None else task_fault(task)
    if expect.state is TaskState.SUCCESS and fault is not None:
        return [f"expected success, but {outcome(task, refused)}"]
    if expect.state is TaskState.ERROR and fault is None:
        return [f"expected {expect.fault or 'an error'}, but the task succeeded ({outcome(task, refused)})"]
    problems = []
    if fault is not None:
        if expect.fault is not None and not isinstance(fault, fault_class(expect.fault)):
            problems.append(f"expected fault {expect.fault}, got {fault}")
        if expect.message_contains is not None and expect.message_contains not in fault.message:
            problems.append(f"expected the fault's message to contain {expect.message_contains!r}, it reads {fault.message!r}")
    if task is None or not (expect.crossing or expect.hot is not None or expect.vcenter or expect.host or expect.figures):
        return problems
    if not task.HasField("migration"):
        return [*problems, "expected a migration result, the task has none"]
    return problems + _migration_problems(task.migration, expect)


def _migration_problems(result: common_pb2.MigrationResult, expect: TaskExpectation) -> list[str]:
    problems = []
    if expect.crossing is not None and crossing_of(result) is not expect.crossing:
        problems.append(f"expected it to cross {expect.crossing.value}, it crossed {crossing_of(result).value} ({result.reason})")
    if expect.hot is not None and result.hot != expect.hot:
        problems.append(f"expected a {'hot' if expect.hot else 'cold'} move, it was {'hot' if result.hot else 'cold'}")
    if expect.vcenter is not None and result.vcenter != expect.vcenter:
        problems.append(f"expected the VM in {expect.vcenter}, the task says {result.vcenter}")
    if expect.host is not None and result.host != expect.host:
        problems.append(f"expected the VM on {expect.host}, the task says {result.host}")
    for figure in expect.figures:
        problems += _figure_problems(result, figure)
    return problems


def _figure_problems(result: common_pb2.MigrationResult, figure: Figure) -> list[str]:
    if figure.name in ("queued_ms", "disks_moved"):
        value = float(getattr(result, figure.name))
    elif not result.HasField("stream"):
        return [f"expected {figure.name} {figure.bound.value} {figure.value:g}, but no page stream ran (a cold move)"]
    else:
        value = float(getattr(result.stream, figure.name))
    holds = {Bound.BELOW: value < figure.value, Bound.ABOVE: value > figure.value, Bound.EQUALS: value == figure.value}
    if holds[figure.bound]:
        return []
    return [f"expected {figure.name} {figure.bound.value} {figure.value:g}, it was {value:g}"]


def check_problems(answer: vcenter_pb2.CheckRelocateResponse, expect: CheckExpectation) -> list[str]:
    problems = []
    for kind, wanted, got in (("errors", expect.errors, answer.errors), ("warnings", expect.warnings, answer.warnings)):
        if wanted is None:
            continue
        names = [f.name for f in got]
        if not wanted and names:
            problems.append(f"expected no {kind}, CheckRelocate gave " + "; ".join(f"{f.name}: {f.message}" for f in got))
        for name in wanted:
            if not any(isinstance(fault_from_proto(f), fault_class(name)) for f in got):
                problems.append(f"expected {name} among the {kind}, CheckRelocate gave {', '.join(names) or 'none'}")
    if expect.hot is not None and answer.hot != expect.hot and not answer.errors:
        problems.append(f"expected a {'hot' if expect.hot else 'cold'} move, it would be {'hot' if answer.hot else 'cold'}")
    if expect.encrypted is not None and answer.encrypted != expect.encrypted and not answer.errors:
        problems.append(f"expected it {'' if expect.encrypted else 'not '}encrypted, CheckRelocate says "
                        f"{'encrypted' if answer.encrypted else 'not encrypted'} ({answer.reason})")
    return problems


def vm_problems(client: Client, estate: Estate | None, domain: str, expect: VmExpectation) -> list[str]:
    """Where the VM is, through the API; with the estate at hand, also which hosts hold it (the invariant)."""
    found, silent = [], []
    for name in client.names:
        try:
            found += [(name, vm) for _, vm in client.vms(name) if vm.name == expect.vm]
        except HostCommunication:       # a vCenter killed by the scenario: the others still tell
            silent.append(name)
    if silent and (expect.absent or expect.exactly_once):
        return [f"cannot tell whether {expect.vm} is anywhere else: {', '.join(silent)} does not answer"]
    if expect.absent:
        return [f"expected {expect.vm} in no inventory, it is in {', '.join(vc for vc, _ in found)}"] if found else []
    if not found:
        answered = [n for n in client.names if n not in silent]
        return [f"{expect.vm} is in no inventory of {', '.join(answered)}" + (f" ({', '.join(silent)} does not answer)" if silent else "")]
    problems = []
    if len(found) > 1:
        problems.append(f"{expect.vm} is in {len(found)} inventories: {', '.join(vc for vc, _ in found)}")
    vcenter, vm = found[0]
    host = client.host_name(vcenter, vm.host)
    if expect.vcenter is not None and vcenter != expect.vcenter:
        problems.append(f"expected {expect.vm} in {expect.vcenter}, it is in {vcenter} (on {host})")
    if expect.host is not None and host != expect.host:
        problems.append(f"expected {expect.vm} on {expect.host}, it is on {host} (in {vcenter})")
    power = _POWER.get(vm.power_state, "unknown")
    if expect.power is not None and power != expect.power:
        problems.append(f"expected {expect.vm} powered {expect.power}, it is powered {power}")
    mode = migrate_encryption_from_proto(vm.migrate_encryption)
    if expect.migrate_encryption is not None and mode is not expect.migrate_encryption:
        problems.append(f"expected {expect.vm}'s migrate_encryption {expect.migrate_encryption.value}, it is {mode.value}")
    problems += _crypto_problems(vm, expect)
    macs = tuple(n.mac_address for n in vm.nics)
    if expect.mac_addresses is not None and macs != expect.mac_addresses:
        problems.append(f"expected {expect.vm}'s MACs {', '.join(expect.mac_addresses)}, they are {', '.join(macs) or 'none'}")
    if expect.macs_blocked_on is not None:
        blocked = set(client.blocked_macs(expect.macs_blocked_on))
        missing = [m for m in macs if m not in blocked]
        if missing or not macs:
            problems.append(f"expected {expect.vm}'s MACs on {expect.macs_blocked_on}'s block list; "
                            f"{', '.join(missing) or 'it has no NIC'} not there")
    if expect.exactly_once and estate is not None and len(found) == 1:
        problems += settled_invariant(estate, domain, vms=[expect.vm], timeout=5.0)
    return problems


def _crypto_problems(vm: inventory_pb2.VirtualMachine, expect: VmExpectation) -> list[str]:
    """VM encryption as the VM's CryptoState shows it; `key_provider` implies encrypted."""
    crypto = vm.crypto
    now = f"encrypted with key provider {crypto.key_provider}" if crypto.encrypted else "not encrypted"
    wanted = True if expect.key_provider is not None else expect.encrypted
    if wanted is not None and crypto.encrypted != wanted:
        return [f"expected {expect.vm} {'encrypted' if wanted else 'not encrypted'}, it is {now}"]
    if expect.key_provider is not None and crypto.key_provider != expect.key_provider:
        return [f"expected {expect.vm} encrypted with key provider {expect.key_provider}, it is {now}"]
    return []


def event_problems(events: list[common_pb2.Event], expect: EventExpectation) -> list[str]:
    """`events`: those posted on expect.vcenter since the scenario began."""
    about = [e for e in events if expect.vm is None or e.vm_name == expect.vm]
    types = [e.type for e in about]
    whose = f" about {expect.vm}" if expect.vm else ""
    problems = []
    for wanted in expect.seen:
        if wanted not in types:
            problems.append(f"expected {wanted}{whose} on {expect.vcenter}, it posted {', '.join(dict.fromkeys(types)) or 'none'}")
    for unwanted in expect.not_seen:
        if unwanted in types:
            found = next(e for e in about if e.type == unwanted)
            problems.append(f"expected no {unwanted}{whose} on {expect.vcenter}, it posted one: {found.message}")
    chained = [e for e in about if not expect.seen or e.type in expect.seen]
    if expect.one_chain and len({e.chain_id for e in chained}) > 1:
        problems.append(f"expected one chainId for the events{whose} on {expect.vcenter}, they carry "
                        f"{', '.join(str(c) for c in sorted({e.chain_id for e in chained}))}")
    return problems


def host_problems(client: Client, expect: HostExpectation) -> list[str]:
    found = client.find_host(expect.host)
    host = client.get_host(found.vcenter, found.moid)
    problems = []
    for what, wanted, got in (("encrypted vMotion support", expect.encrypted_vmotion, host.capability.encrypted_vmotion_supported),
                              ("AES-NI", expect.aes_ni, host.capability.aes_ni),
                              ("connected", expect.connected, host.connection_state == inventory_pb2.HOST_CONNECTION_STATE_CONNECTED)):
        if wanted is not None and wanted != got:
            problems.append(f"expected {expect.host} {'with' if wanted else 'without'} {what}, it is "
                            f"{'with' if got else 'without'}" if what != "connected" else
                            f"expected {expect.host} {'' if wanted else 'not '}connected, it is "
                            f"{inventory_pb2.HostConnectionState.Name(host.connection_state).removeprefix('HOST_CONNECTION_STATE_').lower()}")
    limit = host.capability.max_concurrent_vmotions
    if expect.max_concurrent_vmotions is not None and limit != expect.max_concurrent_vmotions:
        problems.append(f"expected {expect.host} to take {expect.max_concurrent_vmotions} vMotions at once, it takes {limit}")
    return problems

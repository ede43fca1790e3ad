"""Doing what each step says against an estate, through linkedmode.client, and judging it."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..client import Client, faults_raised, run_relocate
from ..estate import Estate
from ..model.faults import Fault
from ..rpc.convert import fault_rule_to_proto, migrate_encryption_to_proto
from ..v1 import common_pb2, fault_rules_pb2, inventory_pb2, vcenter_pb2
from .expectations import check_problems, event_problems, host_problems, outcome, task_problems, vm_problems
from .model import (
    AddFaultRule,
    CheckRelocate,
    ClearFaultRules,
    Create,
    Decrypt,
    Destination,
    Encrypt,
    ExpectAnnouncements,
    ExpectEvents,
    ExpectHost,
    ExpectPerf,
    ExpectVm,
    KeyProviderBackup,
    Kill,
    Migrate,
    Parallel,
    Power,
    Restart,
    SetEncryption,
    Snapshot,
    Step,
    TaskStep,
    Wait,
)
from .observations import announcement_problems, perf_problems
from .results import StepResult

TASK_TIMEOUT = 120.0


@dataclass
class Context:
    """What steps act on: a client of the domain's vCenters and, when the runner started it, the estate."""

    client: Client
    estate: Estate | None
    domain: str
    event_marks: dict[str, int]        # per vCenter, the last event key before the scenario began
    killed: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.time)            # when the scenario began
    moves: dict[str, common_pb2.Task] = field(default_factory=dict)   # per VM, its last successful migrate task


class StepFailed(Exception):
    """A step that could not do what it says (not an expectation that failed)."""


def run_step(step: Step, context: Context) -> StepResult:
    started = time.perf_counter()
    time.sleep(step.after)
    try:
        if isinstance(step, Parallel):
            return _parallel(step, context, started)
        problems, detail = _do(step, context)
    except (Fault, StepFailed) as error:
        problems, detail = [str(error)], ""
    seconds = time.perf_counter() - started
    return StepResult(step, not problems, "; ".join(problems) if problems else detail, seconds)


def _parallel(step: Parallel, context: Context, started: float) -> StepResult:
    with ThreadPoolExecutor(max_workers=len(step.steps)) as pool:
        children = list(pool.map(lambda s: run_step(s, context), step.steps))
    failed = [c for c in children if not c.passed]
    detail = f"{len(failed)} of {len(children)} failed" if failed else f"{len(children)} steps passed"
    return StepResult(step, not failed, detail, time.perf_counter() - started, children)


def _do(step: Step, context: Context) -> tuple[list[str], str]:
    """The problems found (empty: passed) and what happened."""
    if isinstance(step, TaskStep):
        task, refused = _run_task(step, context.client)
        if isinstance(step, Migrate) and task is not None and task.state == common_pb2.TASK_STATE_SUCCESS:
            context.moves[step.vm] = task
        return task_problems(task, refused, step.expect), outcome(task, refused)
    if isinstance(step, CheckRelocate):
        source, spec = _relocate_request(context.client, step.vm, step.to)
        request = vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=step.vm), spec=spec)
        with faults_raised():
            answer = context.client.vcenter(source).api.CheckRelocate(request)
        said = "; ".join(f"{f.name}: {f.message}" for f in [*answer.errors, *answer.warnings]) or answer.reason
        return check_problems(answer, step.expect), said
    if isinstance(step, AddFaultRule):
        return [], _add_fault_rule(step, context)
    if isinstance(step, ClearFaultRules):
        names = step.vcenters or tuple(context.client.names)
        cleared = sum(context.client.vcenter(n).emulator.ClearFaultRules(fault_rules_pb2.ClearFaultRulesRequest()).cleared
                      for n in names)
        return [], f"{cleared} rules cleared"
    if isinstance(step, KeyProviderBackup):
        return [], _copy_key_provider(step, context.client)
    if isinstance(step, Kill | Restart):
        return [], _kill_or_restart(step, context)
    if isinstance(step, Wait):
        return _wait(step, context)
    if isinstance(step, ExpectVm):
        return vm_problems(context.client, context.estate, context.domain, step.expect), "as expected"
    if isinstance(step, ExpectHost):
        return host_problems(context.client, step.expect), "as expected"
    if isinstance(step, ExpectEvents):
        vcenter = step.expect.vcenter
        after = context.event_marks.get(vcenter, 0)
        events = [e for _, e in context.client.events(vcenter=vcenter, after_key=after)]
        return event_problems(events, step.expect), f"{len(events)} events on {vcenter}"
    if isinstance(step, ExpectAnnouncements):
        problems = announcement_problems(context.client, step.expect, context.started, context.moves.get(step.expect.vm))
        return problems, "as expected"
    if isinstance(step, ExpectPerf):
        return perf_problems(context.client, step.expect, context.moves.get(step.expect.vm)), "as expected"
    raise StepFailed(f"no way to run a {type(step).__name__} step")


def _run_task(step: TaskStep, client: Client) -> tuple[common_pb2.Task | None, Fault | None]:
    """Runs the step's task to its end: the task, or the fault that refused the call."""
    try:
        if isinstance(step, Create):
            task = client.create_vm(_create_request(step), raise_fault=False, timeout=TASK_TIMEOUT)
            if step.power_on and task.state == common_pb2.TASK_STATE_SUCCESS:
                task = client.power_on(step.vm, raise_fault=False, timeout=TASK_TIMEOUT)
            return task, None
        if isinstance(step, Power):
            power = client.power_on if step.on else client.power_off
            return power(step.vm, raise_fault=False, timeout=TASK_TIMEOUT), None
        if isinstance(step, SetEncryption):
            return client.set_migrate_encryption(step.vm, step.mode, raise_fault=False, timeout=TASK_TIMEOUT), None
        if isinstance(step, Encrypt):
            return client.encrypt(step.vm, step.key_provider, raise_fault=False, timeout=TASK_TIMEOUT), None
        if isinstance(step, Decrypt):
            return client.decrypt(step.vm, raise_fault=False, timeout=TASK_TIMEOUT), None
        if isinstance(step, Snapshot):
            return client.snapshot(step.vm, step.name, raise_fault=False, timeout=TASK_TIMEOUT), None
        if isinstance(step, Migrate):
            source, spec = _relocate_request(client, step.vm, step.to)
            return run_relocate(client.vcenter(source), step.vm, spec, raise_fault=False, timeout=TASK_TIMEOUT), None
    except Fault as fault:
        return None, fault
    raise StepFailed(f"no way to run a {type(step).__name__} step")


def _relocate_request(client: Client, vm: str, to: Destination) -> tuple[str, vcenter_pb2.RelocateSpec]:
    """The vCenter that has `vm` and the RelocateSpec; a scenario's `locator` fields replace GetAbout's."""
    source, spec = client.relocate_request(vm, to.to_host, to_vcenter=to.to_vcenter, datastore=to.datastore, pool=to.pool,
                                           networks=to.networks)
    for key, value in to.locator.items():
        setattr(spec.service, key, value)
    return source, spec


def _create_request(step: Create) -> vcenter_pb2.CreateVmRequest:
    request = vcenter_pb2.CreateVmRequest(
        name=step.vm, host=step.host, datastore=step.datastore, memory_mb=step.memory_mb,
        disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=mb) for mb in step.disks_mb],
        nics=[vcenter_pb2.VirtualNicSpec(network=n) for n in step.networks],
        workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=step.dirty_rate_mbps, working_set_mb=step.working_set_mb))
    if step.migrate_encryption is not None:
        request.migrate_encryption = migrate_encryption_to_proto(step.migrate_encryption)
    return request


def _add_fault_rule(step: AddFaultRule, context: Context) -> str:
    client, part = context.client, step.rule.part
    vcenter = step.vcenter
    if vcenter is None:
        vcenter = part if part in client.names else client.find_host(part).vcenter if part else client.names[0]
    taken = client.vcenter(vcenter).emulator.AddFaultRule(fault_rule_to_proto(step.rule)).rules
    return f"installed through {vcenter} on {', '.join(r.part for r in taken)}"


def _copy_key_provider(step: KeyProviderBackup, client: Client) -> str:
    """Row K3: the provider backed up under a password made here, held only in memory and never shown."""
    password = secrets.token_urlsafe(24)
    backup = client.backup_key_provider(step.from_vcenter, step.provider, password)
    restored = client.restore_key_provider(step.to_vcenter, backup, password)
    return f"{restored.name} of {step.from_vcenter} restored into {step.to_vcenter} ({len(backup)}-byte backup)"


def _kill_or_restart(step: Kill | Restart, context: Context) -> str:
    estate = context.estate
    if estate is None:
        raise StepFailed(f"{'kill' if isinstance(step, Kill) else 'restart'} needs the estate that `linkedmode run` "
                         "starts itself (not one reached with --connect); a fault rule with action kill works on either")
    if step.part not in estate.hosts and step.part not in estate.vcenters:
        raise StepFailed(f"no part named {step.part!r} in the estate (vCenters: {', '.join(estate.vcenters)})")
    if isinstance(step, Kill):
        (estate.hosts[step.part] if step.part in estate.hosts else estate.vcenters[step.part]).crash()
        context.killed.add(step.part)
        return f"{step.part} killed"
    if step.part in estate.hosts:
        estate.restart_host(step.part)
    else:
        estate.restart_vcenter(step.part)
    context.killed.discard(step.part)
    context.client.readdress({name: server.address for name, server in estate.vcenters.items()
                              if name in context.client.addresses})
    return f"{step.part} restarted"


def _wait(step: Wait, context: Context) -> tuple[list[str], str]:
    if step.until is None:
        time.sleep(step.seconds)
        return [], f"waited {step.seconds:g} s"
    deadline = time.monotonic() + step.seconds
    while True:
        try:
            problems = vm_problems(context.client, context.estate, context.domain, step.until)
        except Fault as fault:
            problems = [str(fault)]
        if not problems:
            return [], "holds"
        if time.monotonic() > deadline:
            return [f"still not so after {step.seconds:g} s: {'; '.join(problems)}"], ""
        time.sleep(0.1)

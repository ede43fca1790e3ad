"""linkedmode bulk set-encryption / host evacuate / host maintenance: bulk operations as an administrator
scripts them, each one task per vCenter followed to its end, then a line per VM."""

from __future__ import annotations

import argparse

import grpc

from ..model.faults import NotFound
from ..model.settings import MigrateEncryption, PowerState
from ..rpc.convert import migrate_encryption_to_proto, power_state_to_proto
from ..rpc.faults import fault_from_error, fault_from_proto
from ..v1 import common_pb2, vcenter_pb2
from .common import CommandError, Session, add_client_options
from .output import print_json, print_table, to_plain
from .tasks_view import follow
from .vm_commands import _vcenter_with

POWER_STATES = ("poweredOn", "poweredOff", "suspended")


def _outcome_rows(vcenter: str, task: common_pb2.Task) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for o in task.bulk.vms:
        if not o.succeeded:
            rows.append((vcenter, o.name, "failed", "", "", f"{o.fault.name}: {o.fault.message}"))
        elif o.HasField("migration"):
            m = o.migration
            rows.append((vcenter, o.name, "moved", f"{m.vcenter}/{m.host}", "yes" if m.encrypted else "no", ""))
        else:
            rows.append((vcenter, o.name, "done", "", "", ""))
    return rows


def _finish(tasks: list[tuple[str, common_pb2.Task]], as_json: bool) -> None:
    """Prints each ended task's outcomes; a failed task or VM makes the command fail, naming how many."""
    if as_json:
        print_json([{"vcenter": vc, **to_plain(t)} for vc, t in tasks])
    else:
        print_table(["VCENTER", "VM", "OUTCOME", "NOW ON", "ENCRYPTED", "FAULT"],
                    [row for vc, t in tasks for row in _outcome_rows(vc, t)])
    for vc, task in tasks:
        if task.state == common_pb2.TASK_STATE_ERROR:
            raise CommandError(f"task {task.key} on {vc} failed: {fault_from_proto(task.error)}")
    failed = sum(t.bulk.failed for _, t in tasks)
    total = sum(len(t.bulk.vms) for _, t in tasks)
    if failed:
        raise CommandError(f"{failed} of {total} VMs failed")


def set_encryption(session: Session, args: argparse.Namespace) -> None:
    mode = migrate_encryption_to_proto(MigrateEncryption.parse(args.mode))
    wanted = vcenter_pb2.VmFilter(name=args.name or "", host=args.host or "")
    if args.power_state:
        wanted.power_state = power_state_to_proto(PowerState(args.power_state))
    if args.current:
        wanted.migrate_encryption = migrate_encryption_to_proto(MigrateEncryption.parse(args.current))
    names = [_vcenter_with(session, "host", args.host)] if args.host else session.names
    started: list[tuple[str, common_pb2.Task]] = []
    for name in names:
        try:
            task = session.vcenter(name).api.SetMigrateEncryption(vcenter_pb2.SetMigrateEncryptionRequest(
                filter=wanted, migrate_encryption=mode))
        except grpc.RpcError as error:
            if isinstance(fault_from_error(error), NotFound):   # nothing of this vCenter matches: others may
                continue
            raise
        started.append((name, task))
    if not started:
        raise CommandError(f"no VM of {', '.join(names)} matches the filter")
    _finish([(vc, follow(session, vc, t, as_json=args.json)) for vc, t in started], args.json)


def _evacuation(args: argparse.Namespace) -> vcenter_pb2.EvacuateHostRequest:
    return vcenter_pb2.EvacuateHostRequest(host=args.host, target_vcenter=args.to_vcenter or "", target_hosts=args.to_host or [])


def evacuate(session: Session, args: argparse.Namespace) -> None:
    vcenter = _vcenter_with(session, "host", args.host)
    task = session.vcenter(vcenter).api.EvacuateHost(_evacuation(args))
    _finish([(vcenter, follow(session, vcenter, task, as_json=args.json))], args.json)


def maintenance(session: Session, args: argparse.Namespace) -> None:
    vcenter = _vcenter_with(session, "host", args.host)
    api = session.vcenter(vcenter).api
    if args.change == "exit":
        task = follow(session, vcenter, api.ExitMaintenanceMode(common_pb2.ObjectRef(name=args.host)), as_json=args.json)
        if args.json:
            print_json({"vcenter": vcenter, **to_plain(task)})
        if task.state == common_pb2.TASK_STATE_ERROR:
            raise CommandError(f"task {task.key} on {vcenter} failed: {fault_from_proto(task.error)}")
        if not args.json:
            print(f"{args.host} has exited maintenance mode")
        return
    task = follow(session, vcenter, api.EnterMaintenanceMode(_evacuation(args)), as_json=args.json)
    _finish([(vcenter, task)], args.json)
    if not args.json:
        print(f"{args.host} is in maintenance mode")


def _add_targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to-vcenter", help="a linked vCenter to move the VMs into (default: the host's own)")
    parser.add_argument("--to-host", action="append", help="only this destination host; repeat for more (default: any that fits)")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bulk = commands.add_parser("bulk", help="bulk operations on every VM a filter matches").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    setting = bulk.add_parser("set-encryption", help="set migrate_encryption on every VM the filter matches (one task per vCenter)")
    setting.add_argument("mode", choices=[m.value for m in MigrateEncryption])
    setting.add_argument("--name", help="VM name glob, as Get-VM takes it ('web-*')")
    setting.add_argument("--host", help="only VMs of this host")
    setting.add_argument("--power-state", choices=POWER_STATES, help="only VMs in this power state")
    setting.add_argument("--current", choices=[m.value for m in MigrateEncryption], help="only VMs with this setting now")
    add_client_options(setting)
    setting.set_defaults(handler=set_encryption)

    host = commands.add_parser("host", help="evacuate a host, or take it into and out of maintenance mode").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    evacuating = host.add_parser("evacuate", help="move every VM off a host, in one task with one progress")
    evacuating.add_argument("host", help="host name or moid")
    _add_targets(evacuating)
    add_client_options(evacuating)
    evacuating.set_defaults(handler=evacuate)
    entering = host.add_parser("maintenance", help="enter (evacuates, then takes no VM) or exit maintenance mode")
    entering.add_argument("change", choices=("enter", "exit"))
    entering.add_argument("host", help="host name or moid")
    _add_targets(entering)
    add_client_options(entering)
    entering.set_defaults(handler=maintenance)

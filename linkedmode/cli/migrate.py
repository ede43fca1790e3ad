"""linkedmode migrate VM --to-vcenter NAME --to-host NAME: vMotion with a live progress bar. To a vCenter
of another SSO domain with --username (row X7): the password from $LINKEDMODE_PASSWORD or a prompt."""

from __future__ import annotations

import argparse
import sys

from ..client import VCenterClient, choose_placement, describe_result, relocate_spec, run_relocate, task_fault
from ..v1 import common_pb2, vcenter_pb2
from .common import CommandError, Session, add_client_options
from .login import read_password, vcenter_of_another_domain
from .output import print_json, to_plain
from .vm_commands import find_vm

BAR = 30


def progress_bar(task: common_pb2.Task) -> None:
    if not sys.stderr.isatty():
        return
    filled = BAR * task.progress // 100
    detail = task.progress_detail or common_pb2.TaskState.Name(task.state).removeprefix("TASK_STATE_").lower()
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {task.progress:3d}% {detail[:80]:<80}")
    sys.stderr.flush()


def migrate(session: Session, args: argparse.Namespace) -> None:
    source_name, vm = find_vm(session, args.vm)
    target_name = args.to_vcenter or source_name
    source = session.vcenter(source_name)
    if args.username:
        if target_name == source_name:
            raise CommandError("--username is for a vCenter of another SSO domain: give it with --to-vcenter")
        password = read_password(args.username, target_name)
        target = vcenter_of_another_domain(session.endpoints, target_name, args.username, password)
    else:
        target = session.vcenter(target_name)
    try:
        placement = choose_placement(target, args.to_host, args.datastore, args.pool)
        spec = relocate_spec(source, target, placement, keep_datastore=args.datastore is None and target_name == source_name)
        if args.username:
            _with_credential(spec, target, args.username, password)
    finally:
        if args.username:
            target.close()
    task = run_relocate(source, vm.name, spec, on_progress=None if args.json else progress_bar, raise_fault=False)
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.json:
        print_json({"task": task.key, "state": common_pb2.TaskState.Name(task.state),
                    "result": to_plain(task.migration) if task.HasField("migration") else None,
                    "error": to_plain(task.error) if task.HasField("error") else None})
    fault = task_fault(task)
    if fault is not None:
        raise CommandError(f"{vm.name} stays on {source_name}: {fault}")
    if not args.json:
        where = f"{task.migration.vcenter}/{task.migration.host}"
        print(f"{vm.name}: {source_name} -> {where}, {describe_result(task)}")


def _with_credential(spec: vcenter_pb2.RelocateSpec, target: VCenterClient, user: str, password: str) -> None:
    """The locator of a vCenter of another SSO domain: its login address, and the user's credential."""
    spec.service.url = target.api.GetAbout(vcenter_pb2.GetAboutRequest()).login_url
    spec.service.credential.CopyFrom(vcenter_pb2.ServiceLocatorNamePassword(username=user, password=password))


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("migrate", help="vMotion a VM to another host, in its vCenter or another one")
    parser.add_argument("vm", help="VM name or moid")
    parser.add_argument("--to-vcenter", help="destination vCenter (default: the VM's own)")
    parser.add_argument("--to-host", required=True, help="destination host")
    parser.add_argument("--datastore", help="destination datastore (default: where the disks are, or one the host mounts)")
    parser.add_argument("--pool", help="destination resource pool, i.e. cluster (default: the host's)")
    parser.add_argument("--username", help="a user of the destination vCenter's SSO domain, when it is another one "
                                           "(user or user@domain); the password comes from $LINKEDMODE_PASSWORD or a prompt")
    add_client_options(parser)
    parser.set_defaults(handler=migrate)

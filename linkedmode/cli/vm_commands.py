"""linkedmode vm ... / task ... / events: client commands against a running estate."""

from __future__ import annotations

import argparse

from google.protobuf.message import Message

from ..model.faults import NotFound
from ..model.settings import MigrateEncryption
from ..rpc.convert import migrate_encryption_to_proto
from ..v1 import common_pb2, inventory_pb2, vcenter_pb2
from .common import CommandError, Session, add_client_options
from .output import enum_word, print_fields, print_json, print_table, to_plain
from .tasks_view import follow, print_events, report, vcenter_of_task


def find_vm(session: Session, name: str) -> tuple[str, inventory_pb2.VirtualMachine]:
    """The vCenter that has a VM of that name (or moid), and the VM."""
    try:
        return session.client.get_vm(name)
    except NotFound as fault:
        raise CommandError(fault.message) from None


def vm_list(session: Session, args: argparse.Namespace) -> None:
    rows = []
    for client in session.all():
        hosts = {h.moid: h.name for h in client.api.ListHosts(inventory_pb2.ListRequest()).hosts}
        for vm in client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms:
            rows.append((client.name, vm, hosts.get(vm.host, vm.host)))
    if args.json:
        print_json([{"vcenter": vc, "host_name": host, **to_plain(vm)} for vc, vm, host in rows])
        return
    print_table(["VCENTER", "VM", "MOID", "POWER", "MIGRATE_ENCRYPTION", "ENCRYPTED", "HOST", "MEMORY_MB"], [
        (vc, vm.name, vm.moid, enum_word(common_pb2.PowerState.Name(vm.power_state)),
         enum_word(common_pb2.MigrateEncryption.Name(vm.migrate_encryption)), "yes" if vm.crypto.encrypted else "no",
         host, vm.memory_mb)
        for vc, vm, host in rows
    ])


def vm_show(session: Session, args: argparse.Namespace) -> None:
    vcenter, vm = find_vm(session, args.vm)
    if args.json:
        print_json({"vcenter": vcenter, **to_plain(vm)})
        return
    print_fields([
        ("vcenter", vcenter), ("name", vm.name), ("moid", vm.moid), ("instance_uuid", vm.instance_uuid),
        ("power_state", enum_word(common_pb2.PowerState.Name(vm.power_state))),
        ("migrate_encryption", enum_word(common_pb2.MigrateEncryption.Name(vm.migrate_encryption))),
        ("encrypted", f"yes ({vm.crypto.key_provider})" if vm.crypto.encrypted else "no"),
        ("host", vm.host), ("memory_mb", vm.memory_mb), ("num_cpu", vm.num_cpu),
        ("guest", f"dirties {vm.workload.dirty_rate_mbps:g} MB/s over {vm.workload.working_set_mb} MB"),
        *[(d.label, f"{d.capacity_mb} MB on {d.datastore}" + (" (encrypted)" if d.encrypted else "")) for d in vm.disks],
        *[(n.label, f"{n.mac_address} on {n.network}") for n in vm.nics],
    ])


def _run_task(session: Session, args: argparse.Namespace, call: str, spec: vcenter_pb2.VirtualMachineConfigSpec | None = None) -> None:
    """Calls `call` on the VM (ReconfigVm with `spec`) and follows its task."""
    vcenter, vm = find_vm(session, args.vm)
    api = session.vcenter(vcenter).api
    ref = common_pb2.ObjectRef(moid=vm.moid)
    request: Message = ref if spec is None else vcenter_pb2.ReconfigVmRequest(vm=ref, spec=spec)
    task = getattr(api, call)(request)
    report(follow(session, vcenter, task, as_json=args.json), as_json=args.json)


def vm_power_on(session: Session, args: argparse.Namespace) -> None:
    _run_task(session, args, "PowerOnVm")


def vm_power_off(session: Session, args: argparse.Namespace) -> None:
    _run_task(session, args, "PowerOffVm")


def vm_set_encryption(session: Session, args: argparse.Namespace) -> None:
    mode = MigrateEncryption.parse(args.mode)
    spec = vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=migrate_encryption_to_proto(mode))
    _run_task(session, args, "ReconfigVm", spec)


def vm_encrypt(session: Session, args: argparse.Namespace) -> None:
    encrypt = vcenter_pb2.CryptoSpecEncrypt(key_provider=args.key_provider or "")
    _run_task(session, args, "ReconfigVm", vcenter_pb2.VirtualMachineConfigSpec(crypto=vcenter_pb2.CryptoSpec(encrypt=encrypt)))


def vm_decrypt(session: Session, args: argparse.Namespace) -> None:
    decrypt = vcenter_pb2.CryptoSpecDecrypt()
    _run_task(session, args, "ReconfigVm", vcenter_pb2.VirtualMachineConfigSpec(crypto=vcenter_pb2.CryptoSpec(decrypt=decrypt)))


def _vcenter_with(session: Session, kind: str, name: str) -> str:
    """The one vCenter that has a host or cluster of that name (or moid)."""
    found = []
    for client in session.all():
        if kind == "host":
            names = {(h.name, h.moid) for h in client.api.ListHosts(inventory_pb2.ListRequest()).hosts}
        else:
            names = {(c.name, c.moid) for c in client.api.ListClusters(inventory_pb2.ListRequest()).clusters}
        if any(name in pair for pair in names):
            found.append(client.name)
    if not found:
        raise CommandError(f"no {kind} named {name!r} in {', '.join(session.names)}")
    if len(found) > 1:
        raise CommandError(f"{found[0]} and {found[1]} both have a {kind} named {name!r}: choose one with --vcenter")
    return found[0]


def vm_create(session: Session, args: argparse.Namespace) -> None:
    if bool(args.host) == bool(args.cluster):
        raise CommandError("give --host or --cluster (one of them)")
    request = vcenter_pb2.CreateVmRequest(
        name=args.name, host=args.host or "", cluster=args.cluster or "", datastore=args.datastore, memory_mb=args.memory_mb,
        num_cpu=args.cpus, disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=mb) for mb in args.disk_mb or []],
        nics=[vcenter_pb2.VirtualNicSpec(network=n) for n in args.network or []],
        workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=args.dirty_rate_mbps, working_set_mb=args.working_set_mb),
    )
    if args.migrate_encryption:
        request.migrate_encryption = migrate_encryption_to_proto(MigrateEncryption.parse(args.migrate_encryption))
    vcenter = _vcenter_with(session, "host" if args.host else "cluster", args.host or args.cluster)
    task = session.vcenter(vcenter).api.CreateVm(request)
    report(follow(session, vcenter, task, as_json=args.json), as_json=args.json)


def vm_destroy(session: Session, args: argparse.Namespace) -> None:
    _run_task(session, args, "DestroyVm")


def snapshot_create(session: Session, args: argparse.Namespace) -> None:
    vcenter, vm = find_vm(session, args.vm)
    request = vcenter_pb2.CreateSnapshotRequest(vm=common_pb2.ObjectRef(moid=vm.moid), name=args.name, description=args.description)
    report(follow(session, vcenter, session.vcenter(vcenter).api.CreateSnapshot(request), as_json=args.json), as_json=args.json)


def snapshot_remove(session: Session, args: argparse.Namespace) -> None:
    vcenter, vm = find_vm(session, args.vm)
    request = vcenter_pb2.RemoveSnapshotRequest(vm=common_pb2.ObjectRef(moid=vm.moid), snapshot=args.snapshot)
    report(follow(session, vcenter, session.vcenter(vcenter).api.RemoveSnapshot(request), as_json=args.json), as_json=args.json)


def snapshot_list(session: Session, args: argparse.Namespace) -> None:
    vcenter, vm = find_vm(session, args.vm)
    found = session.vcenter(vcenter).api.ListSnapshots(common_pb2.ObjectRef(moid=vm.moid)).snapshots
    if args.json:
        print_json([to_plain(s) for s in found])
        return
    print_table(["ID", "NAME", "CREATED", "DESCRIPTION"], [
        (s.id, s.name, s.create_time.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"), s.description) for s in found])


def _add_create(vm: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = vm.add_parser("create", help="create a powered-off VM and wait for the task")
    create.add_argument("name", help="name of the new VM (unique in its datacenter)")
    create.add_argument("--host", help="host to place it on (name or moid)")
    create.add_argument("--cluster", help="or a cluster: a connected host of it with the memory free is chosen")
    create.add_argument("--datastore", required=True, help="datastore for its files and disks")
    create.add_argument("--memory-mb", type=int, default=256, help="memory (default 256)")
    create.add_argument("--cpus", type=int, default=1, help="virtual CPUs (default 1)")
    create.add_argument("--disk-mb", type=int, action="append", help="a disk of this many MB (repeat for more disks)")
    create.add_argument("--network", action="append", help="a NIC on this network (repeat for more NICs)")
    create.add_argument("--migrate-encryption", help="disabled, opportunistic (default) or required")
    create.add_argument("--dirty-rate-mbps", type=float, default=0.0, help="MB per second the guest writes (default 0)")
    create.add_argument("--working-set-mb", type=int, default=0, help="over how much of its memory (default all)")
    add_client_options(create)
    create.set_defaults(handler=vm_create)


def _add_snapshot(vm: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    snapshot = vm.add_parser("snapshot", help="create, remove or list a VM's snapshots")
    actions = snapshot.add_subparsers(dest="snapshot_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="take a snapshot and wait for the task")
    create.add_argument("vm", help="VM name or moid")
    create.add_argument("name", help="name of the snapshot")
    create.add_argument("--description", default="", help="what the snapshot is for")
    create.set_defaults(handler=snapshot_create)
    remove = actions.add_parser("remove", help="remove a snapshot and wait for the task")
    remove.add_argument("vm", help="VM name or moid")
    remove.add_argument("snapshot", help="snapshot id (snapshot-7) or name")
    remove.set_defaults(handler=snapshot_remove)
    listing = actions.add_parser("list", help="list a VM's snapshots, oldest first")
    listing.add_argument("vm", help="VM name or moid")
    listing.set_defaults(handler=snapshot_list)
    for parser in (create, remove, listing):
        add_client_options(parser)


def task_watch(session: Session, args: argparse.Namespace) -> None:
    vcenter = vcenter_of_task(args.key)
    task = session.vcenter(vcenter).api.GetTask(vcenter_pb2.GetTaskRequest(key=args.key))
    report(follow(session, vcenter, task, as_json=args.json), as_json=args.json)


def events(session: Session, args: argparse.Namespace) -> None:
    if args.follow:
        if len(session.names) != 1:
            raise CommandError("--follow watches one vCenter: name it with --vcenter")
        name = session.names[0]
        for event in session.client.watch_events(name, vm=args.vm or ""):
            print_events([(name, event)], as_json=args.json)
        return
    found = []
    for name in session.names:   # the last --limit of each vCenter; about --vm also where it has since left
        found += list(session.client.events(vcenter=name, vm=args.vm or ""))[-args.limit:]
    print_events(found, as_json=args.json)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("vm", help="list, show, create, power, configure, snapshot and destroy VMs")
    vm = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, helptext in (
        ("list", vm_list, "list the VMs of every vCenter of the domain"),
        ("show", vm_show, "show one VM"),
        ("power-on", vm_power_on, "power a VM on and wait for the task"),
        ("power-off", vm_power_off, "power a VM off and wait for the task"),
        ("set-encryption", vm_set_encryption, "set a VM's migrate_encryption (only while powered off)"),
        ("encrypt", vm_encrypt, "encrypt a powered-off VM without snapshots, disks included, and wait for the task"),
        ("decrypt", vm_decrypt, "decrypt a powered-off VM without snapshots and wait for the task"),
        ("destroy", vm_destroy, "destroy a powered-off VM, its disks and snapshots, and wait for the task"),
    ):
        parser = vm.add_parser(name, help=helptext)
        if name != "list":
            parser.add_argument("vm", help="VM name or moid")
        if name == "set-encryption":
            parser.add_argument("mode", help="disabled, opportunistic or required")
        if name == "encrypt":
            parser.add_argument("--key-provider", help="the key provider to use (default: the vCenter's default)")
        add_client_options(parser)
        parser.set_defaults(handler=handler)
    _add_create(vm)
    _add_snapshot(vm)
    task = commands.add_parser("task", help="follow tasks").add_subparsers(dest="action", required=True, metavar="ACTION")
    watch = task.add_parser("watch", help="follow a task until it ends")
    watch.add_argument("key", help="task key, e.g. task-vc-a-3")
    add_client_options(watch)
    watch.set_defaults(handler=task_watch)
    ev = commands.add_parser("events", help="query or follow events")
    ev.add_argument("--vm", help="only events about this VM")
    ev.add_argument("--limit", type=int, default=50, help="at most this many per vCenter (default 50)")
    ev.add_argument("--follow", action="store_true", help="keep printing new events (needs --vcenter)")
    add_client_options(ev)
    ev.set_defaults(handler=events)

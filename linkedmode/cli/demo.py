"""linkedmode demo: the default topology brought up, and every rule of the encryption decision shown
by real migrations across the two linked vCenters, over the same mTLS API any client uses."""

from __future__ import annotations

import argparse
import secrets
import time
from dataclasses import asdict, dataclass

from ..client import Placement, VCenterClient, connect_vcenter, how_it_crossed, relocate_spec, run_relocate, task_fault
from ..estate import Estate, start_estate
from ..rpc.convert import migrate_encryption_from_proto
from ..v1 import common_pb2, inventory_pb2, vcenter_pb2
from .output import print_json, print_table
from .up import describe, load

# (VM, from vCenter, to vCenter, to host): what the showcase asks for, in order. A VM that moved comes
# back home before its next trip, so each mode meets a 7.0 host, a 6.7 host and one that cannot encrypt
# (esx-b3 has no AES-NI; esx-l2 runs ESXi 6.0, which only the 6.7 vCenter vc-legacy manages).
SHOWCASE = [
    *[(vm, "vc-a", "vc-b", host) for vm in ("app-disabled", "app-opportunistic", "app-required")
      for host in ("esx-b1", "esx-b2", "esx-b3")],
    ("db-encrypted", "vc-a", "vc-b", "esx-b1"),
    ("db-encrypted", "vc-a", "vc-b", "esx-b3"),
    ("db-nkp", "vc-a", "vc-b", "esx-b1"),
    *[(vm, "vc-a", "vc-legacy", "esx-l1") for vm in ("app-opportunistic", "app-required")],
    *[(vm, "vc-legacy", "vc-legacy", "esx-l2") for vm in ("app-legacy", "app-legacy-required")],
    ("app-opportunistic", "vc-a", "vc-corp", "esx-c1"),
]
# After the move of a VM whose key only its Native Key Provider has is refused, that provider's backup
# (under a one-off password) is restored into the destination vCenter and the move is asked again.
NATIVE_RESTORE = {("db-nkp", "vc-a", "vc-b"): "nkp-vc-a"}
AFTER_RESTORE = " (after restore)"
TARGETS = {
    "vc-a": ("ds-a-shared", "cluster-a"),
    "vc-b": ("ds-b-shared", "cluster-b"),
    "vc-legacy": ("ds-l-shared", "cluster-legacy"),
    "vc-corp": ("ds-corp-shared", "cluster-corp"),
}


@dataclass
class Row:
    vm: str
    source: str
    destination: str
    mode_asked: str
    result: str
    MBps: str = ""
    rounds: str = ""
    downtime_ms: str = ""


def _row(vm: str, source: str, destination: str, mode: str, task: common_pb2.Task) -> Row:
    fault = task_fault(task)
    if fault is not None:
        return Row(vm, source, destination, mode, f"refused: {fault.name}: {fault.message}")
    r = task.migration
    asked = migrate_encryption_from_proto(r.mode_asked).value
    if not r.HasField("stream"):
        return Row(vm, source, destination, asked, how_it_crossed(r))
    s = r.stream
    return Row(vm, source, destination, asked, how_it_crossed(r), f"{s.mbps:.1f}", str(s.rounds), f"{s.downtime_ms:.1f}")


class Showcase:
    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.clients: dict[str, VCenterClient] = {}
        admin = estate.credential("vsphere.local", "user", "administrator")
        for name, server in estate.vcenters.items():
            if server.domain.name == "vsphere.local":
                self.clients[name] = connect_vcenter(server.address, admin, name)

    def mode_of(self, vcenter: str, vm: str) -> str:
        found = self.clients[vcenter].api.GetVm(common_pb2.ObjectRef(name=vm))
        return common_pb2.MigrateEncryption.Name(found.migrate_encryption).removeprefix("MIGRATE_ENCRYPTION_").lower()

    def move(self, vm: str, source: str, target: str, host: str, datastore: str, pool: str) -> Row:
        mode = self.mode_of(source, vm)
        client = self.clients[source]
        if target in self.clients:
            spec = relocate_spec(client, self.clients[target], Placement(host, datastore, pool), keep_datastore=False)
        else:   # a vCenter of another SSO domain: its owner would hand over these three values
            other = self.estate.vcenters[target].vcenter
            spec = vcenter_pb2.RelocateSpec(host=host, datastore=datastore, pool=pool, service=vcenter_pb2.ServiceLocator(
                instance_uuid=other.instance_uuid, url=other.url, ssl_thumbprint=other.thumbprint))
        task = run_relocate(client, vm, spec, raise_fault=False)
        return _row(vm, f"{source}/{self.home.get(vm, '')}", f"{target}/{host}", mode, task)

    def run(self) -> list[Row]:
        self.home: dict[str, str] = {}
        for name in ("vc-a", "vc-legacy"):
            api = self.clients[name].api
            hosts = {h.moid: h.name for h in api.ListHosts(inventory_pb2.ListRequest()).hosts}
            self.home |= {vm.name: hosts[vm.host] for vm in api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
        rows = []
        for vm, source, target, host in SHOWCASE:
            datastore, pool = TARGETS[target]
            row = self.move(vm, source, target, host, datastore, pool)
            rows.append(row)
            provider = NATIVE_RESTORE.get((vm, source, target))
            if provider is not None and row.result.startswith("refused"):
                self.restore_native(provider, source, target)
                row = self.move(vm, source, target, host, datastore, pool)
                row.vm += AFTER_RESTORE
                rows.append(row)
            if not row.result.startswith("refused"):
                back = self.move(vm, target, source, self.home[vm], *TARGETS[source])
                back.source, back.destination = f"{target}/{host}", f"{source}/{self.home[vm]}"
                rows.append(back)
        return rows

    def restore_native(self, provider: str, source: str, target: str) -> None:
        """The source's Native Key Provider, backed up under a one-off password and restored into the target."""
        password = secrets.token_urlsafe(24)
        backup = self.clients[source].api.BackupKeyProvider(vcenter_pb2.BackupKeyProviderRequest(name=provider, password=password))
        self.clients[target].api.RestoreKeyProvider(vcenter_pb2.RestoreKeyProviderRequest(backup=backup.backup, password=password))

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def demo(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    started = time.perf_counter()
    with start_estate(topology) as estate:
        if not args.json:
            print(f"Started {len(estate.vcenters)} vCenters and {len(estate.hosts)} hosts in "
                  f"{time.perf_counter() - started:.2f} s, each behind its own mutual-TLS listener:\n")
            describe(estate)
            print("\nvMotion across the linked vCenters and inside vc-legacy, every rule of the encryption decision "
                  "(each VM comes back home after a trip; db-encrypted's key is on the KMS both vCenters trust, "
                  "db-nkp's in vc-a's Native Key Provider, restored into vc-b from its backup after the first refusal):\n",
                  flush=True)
        showcase = Showcase(estate)
        try:
            rows = showcase.run()
        finally:
            showcase.close()
    if args.json:
        print_json([asdict(r) for r in rows])
        return 0
    notes: list[str] = []
    table = []
    for r in rows:
        result = r.result
        if result.startswith("refused: "):
            name, _, why = result.removeprefix("refused: ").partition(": ")
            notes.append(why)
            result = f"refused: {name} [{len(notes)}]"
        table.append((r.vm, r.source, r.destination, r.mode_asked, result, r.MBps, r.rounds, r.downtime_ms))
    print_table(["VM", "FROM", "TO", "MODE ASKED", "RESULT", "MB/S", "ROUNDS", "DOWNTIME MS"], table)
    print()
    for number, why in enumerate(notes, 1):
        print(f"[{number}] {why}")
    print(f"\n{len(rows)} migrations in {time.perf_counter() - started:.1f} s")
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="start the default topology and show every encryption rule by real migrations")
    parser.add_argument("topology", nargs="?", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--json", action="store_true", help="print the migrations as a JSON list")
    parser.set_defaults(handler=demo, needs_session=False)

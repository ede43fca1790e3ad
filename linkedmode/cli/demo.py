"""linkedmode demo: bring up the default topology and show, over the real mTLS API, what it does."""

from __future__ import annotations

import argparse
import time
from typing import Callable

import grpc

from ..client import VCenterClient, connect_vcenter
from ..estate import Estate, start_estate
from ..model.faults import Fault
from ..rpc.faults import fault_from_error, fault_from_proto
from ..v1 import common_pb2, linked_mode_pb2, vcenter_pb2
from .output import print_json, print_table
from .up import describe, load


class Tour:
    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.rows: list[dict[str, str]] = []

    def client(self, vcenter: str, user: str = "administrator", domain: str = "vsphere.local", *, trust: bytes | None = None) -> VCenterClient:
        credential = self.estate.credential(domain, "user", user)
        server_domain = self.estate.vcenters[vcenter].domain.name
        return connect_vcenter(self.estate.vcenters[vcenter].address, credential, vcenter, domain=server_domain, trust=trust)

    def step(self, what: str, who: str, call: Callable[[], str]) -> None:
        try:
            outcome = call()
        except grpc.RpcError as error:
            outcome = f"refused: {fault_from_error(error)}"
        except Fault as fault:
            outcome = f"refused: {fault}"
        self.rows.append({"step": what, "as": who, "outcome": outcome})

    def task(self, client: VCenterClient, call: str, request) -> str:  # type: ignore[no-untyped-def]
        task = getattr(client.api, call)(request)
        for task in client.api.WaitTask(vcenter_pb2.GetTaskRequest(key=task.key)):
            pass
        if task.state == common_pb2.TASK_STATE_ERROR:
            raise fault_from_proto(task.error)
        return f"{task.key} success"


def run_tour(estate: Estate) -> list[dict[str, str]]:
    tour = Tour(estate)
    admin_a, admin_b = tour.client("vc-a"), tour.client("vc-b")
    vm = lambda name: common_pb2.ObjectRef(name=name)  # noqa: E731
    reconfig = lambda name, mode: vcenter_pb2.ReconfigVmRequest(  # noqa: E731
        vm=vm(name), spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=mode))

    def about(client: VCenterClient) -> str:
        info = client.api.GetAbout(vcenter_pb2.GetAboutRequest())
        peers = [p.name for p in client.api.ListLinkedVCenters(linked_mode_pb2.ListPeersRequest()).peers]
        vms = client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms
        return f"{info.full_name}, {info.sso_domain}, {len(vms)} VMs" + (f", linked with {', '.join(peers)}" if peers else "")

    tour.step("about vc-a", "administrator", lambda: about(admin_a))
    tour.step("about vc-b", "administrator", lambda: about(admin_b))
    tour.step("power off app-opportunistic", "administrator", lambda: tour.task(admin_a, "PowerOffVm", vm("app-opportunistic")))
    tour.step("power on app-opportunistic", "administrator", lambda: tour.task(admin_a, "PowerOnVm", vm("app-opportunistic")))
    tour.step("app-required: migrate_encryption=disabled while powered on", "administrator",
              lambda: tour.task(admin_a, "ReconfigVm", reconfig("app-required", common_pb2.MIGRATE_ENCRYPTION_DISABLED)))
    tour.step("batch-off: migrate_encryption=required while powered off", "administrator",
              lambda: tour.task(admin_a, "ReconfigVm", reconfig("batch-off", common_pb2.MIGRATE_ENCRYPTION_REQUIRED)))
    tour.step("db-encrypted (VM encryption): migrate_encryption=disabled", "administrator",
              lambda: tour.task(admin_a, "ReconfigVm", reconfig("db-encrypted", common_pb2.MIGRATE_ENCRYPTION_DISABLED)))
    auditor = tour.client("vc-a", "auditor")
    tour.step("power on batch-off", "auditor (read-only)", lambda: tour.task(auditor, "PowerOnVm", vm("batch-off")))
    stranger = tour.client("vc-a", "administrator", "corp.local", trust=estate.credential("vsphere.local", "user", "administrator").ca_pem)
    tour.step("list VMs of vc-a", "administrator@corp.local", lambda: f"{len(stranger.api.ListVms(vcenter_pb2.ListVmsRequest()).vms)} VMs")
    events = admin_a.api.QueryEvents(vcenter_pb2.EventFilter(vm="app-opportunistic")).events
    tour.step("events of app-opportunistic on vc-a", "administrator", lambda: ", ".join(e.type for e in events))
    for client in (admin_a, admin_b, auditor, stranger):
        client.close()
    return tour.rows


def demo(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    started = time.perf_counter()
    with start_estate(topology) as estate:
        if not args.json:
            print(f"Started {len(estate.vcenters)} vCenters and {len(estate.hosts)} hosts in "
                  f"{time.perf_counter() - started:.2f} s, each behind its own mutual-TLS listener:\n")
            describe(estate)
            print()
        rows = run_tour(estate)
    if args.json:
        print_json(rows)
    else:
        print_table(["STEP", "AS", "OUTCOME"], [(r["step"], r["as"], r["outcome"]) for r in rows])
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="start the default topology, show it working over the API, stop")
    parser.add_argument("topology", nargs="?", help="topology YAML file (default: the built-in topology)")
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    parser.set_defaults(handler=demo, needs_session=False)

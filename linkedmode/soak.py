"""linkedmode soak: many concurrent migrations back and forth between two linked vCenters while fault
rules drop connections and kill hosts at random; at the end every task has ended, the invariant holds
for every VM, and no key is left anywhere. Loopback only, bounded in count and time."""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import grpc

from .client import connect_vcenter
from .crypto.secrets import MigrationSecrets
from .estate import Estate, start_estate
from .invariant import settled_invariant, vm_problems
from .model.fault_rules import FaultAction
from .model.migration import MigrationStep
from .rpc.convert import fault_action_to_proto, migration_step_to_proto
from .topology import parse_topology
from .v1 import common_pb2, fault_rules_pb2, vcenter_pb2

HOSTS = {"vc-a": ["sa1", "sa2", "sa3"], "vc-b": ["sb1", "sb2", "sb3"]}


def soak_topology(vms_per_vcenter: int) -> dict[str, Any]:
    def vcenter(name: str, dc: str, hosts: list[str], versions: list[str]) -> dict[str, Any]:
        return {
            "name": name, "version": "7.0.3",
            "datacenters": [{
                "name": dc,
                "clusters": [{"name": f"{dc}-cluster", "hosts": [{"name": h, "version": v} for h, v in zip(hosts, versions, strict=True)]}],
                "datastores": [{"name": f"{dc}-shared"}],
                "networks": [{"name": "VM Network"}],
                "vms": [{"name": f"{name}-vm{i:02d}", "host": hosts[i % len(hosts)], "memory_mb": 16,
                         "migrate_encryption": ("opportunistic", "required", "disabled")[i % 3],
                         "nics": [{"network": "VM Network"}], "guest": {"dirty_rate_mbps": 2, "working_set_mb": 4}}
                        for i in range(vms_per_vcenter)],
            }],
        }

    return {"sso_domains": [{"name": "vsphere.local", "vcenters": [
        vcenter("vc-a", "dc-a", HOSTS["vc-a"], ["7.0.3", "7.0.3", "6.7.0"]),
        vcenter("vc-b", "dc-b", HOSTS["vc-b"], ["7.0.3", "6.7.0", "7.0.3"]),
    ]}]}


# (step, action, probability): what breaks, how often
RULES = [
    (MigrationStep.SPEC_EXCHANGE, FaultAction.DROP_CONNECTION, 0.05),
    (MigrationStep.KEY_PUSH_DESTINATION, FaultAction.DROP_CONNECTION, 0.05),
    (MigrationStep.KEY_PUSH_SOURCE, FaultAction.DROP_CONNECTION, 0.05),
    (MigrationStep.PRECOPY_ROUND, FaultAction.DROP_CONNECTION, 0.03),
    (MigrationStep.STUN, FaultAction.DROP_CONNECTION, 0.03),
    (MigrationStep.FINAL_PAGES, FaultAction.DROP_CONNECTION, 0.03),
    (MigrationStep.COMMIT, FaultAction.DROP_CONNECTION, 0.05),
    (MigrationStep.KEY_PUSH_DESTINATION, FaultAction.KILL, 0.03),
]


@dataclass
class SoakReport:
    migrations: int = 0
    succeeded: int = 0
    failed_safely: int = 0
    lost: int = 0
    keys_left: int = 0
    faults_fired: int = 0
    hosts_killed: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


class Soak:
    def __init__(self, estate: Estate, rng: random.Random) -> None:
        self.estate = estate
        self.rng = rng
        admin = estate.credential("vsphere.local", "user", "administrator")
        self.clients = {name: connect_vcenter(s.address, admin, name) for name, s in estate.vcenters.items()}
        self.about = {name: c.api.GetAbout(vcenter_pb2.GetAboutRequest()) for name, c in self.clients.items()}
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        self.report = SoakReport()
        self.kills = 0
        self.reviving = threading.Lock()

    def install_rules(self) -> None:
        for client in self.clients.values():
            for step, action, probability in RULES:
                rule = fault_rules_pb2.FaultRule(step=migration_step_to_proto(step), action=fault_action_to_proto(action),
                                                 probability=probability, count=1 if action is FaultAction.KILL else 0,
                                                 fault="HostCommunication")
                client.emulator.AddFaultRule(rule)

    def fired(self) -> int:
        return sum(r.fired for c in self.clients.values() for r in c.emulator.ListFaultRules(fault_rules_pb2.ListFaultRulesRequest()).rules)

    def pick(self) -> tuple[str, str, str] | None:
        """(vCenter that has it, VM, target vCenter) for a VM not migrating now."""
        with self.lock:
            owners = []
            for name, client in self.clients.items():
                for found in client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms:
                    if found.name not in self.busy:
                        owners.append((name, found.name))
            if not owners:
                return None
            source, name = self.rng.choice(owners)
            self.busy.add(name)
        return source, name, self.rng.choice(list(self.clients))

    def migrate_one(self) -> None:
        picked = self.pick()
        if picked is None:
            return
        source, vm, target = picked
        try:
            host = self.rng.choice(HOSTS[target])
            spec = vcenter_pb2.RelocateSpec(host=host)
            if target != source:
                about = self.about[target]
                spec.datastore, spec.pool = ("dc-b-shared", "dc-b-cluster") if target == "vc-b" else ("dc-a-shared", "dc-a-cluster")
                spec.service.CopyFrom(vcenter_pb2.ServiceLocator(instance_uuid=about.instance_uuid, url=about.url,
                                                                  ssl_thumbprint=about.thumbprint))
            client = self.clients[source]
            task = client.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec))
            for update in client.api.WaitTask(vcenter_pb2.GetTaskRequest(key=task.key), timeout=300):
                task = update
            with self.lock:
                self.report.migrations += 1
                if task.state == common_pb2.TASK_STATE_SUCCESS:
                    self.report.succeeded += 1
                else:
                    self.report.failed_safely += 1   # checked below: the invariant says whether it was safe
        except grpc.RpcError:   # a refused call is a failure too; the invariant judges whether it was safe
            with self.lock:
                self.report.migrations += 1
                self.report.failed_safely += 1
        finally:
            with self.lock:
                self.busy.discard(vm)

    def revive_hosts(self) -> None:
        with self.reviving:
            for name, host in list(self.estate.hosts.items()):
                if not host.running:
                    self.estate.restart_host(name)
                    self.kills += 1

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def run_soak(migrations: int = 40, seconds: float = 60.0, concurrency: int = 4, seed: int | None = None,
             say: Callable[[str], None] = lambda line: None) -> SoakReport:
    started = time.monotonic()
    rng = random.Random(seed)
    estate = start_estate(parse_topology(soak_topology(8), "soak"))
    try:
        for server in estate.vcenters.values():
            server.vcenter.timeouts = replace(server.vcenter.timeouts, max_switchover=5.0)
        soak = Soak(estate, rng)
        names = [vm.name for c in soak.clients.values() for vm in c.api.ListVms(vcenter_pb2.ListVmsRequest()).vms]
        soak.install_rules()
        stop = threading.Event()

        def medic() -> None:   # hosts killed by a rule come back, and their vCenter powers their VMs on again
            while not stop.wait(0.2):
                soak.revive_hosts()

        medic_thread = threading.Thread(target=medic, name="soak-medic", daemon=True)
        medic_thread.start()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = []
            for i in range(migrations):
                if time.monotonic() - started > seconds:
                    break
                futures.append(pool.submit(soak.migrate_one))
                if i % 10 == 9:
                    say(f"{i + 1} migrations started, {time.monotonic() - started:.0f} s")
            for future in futures:
                future.result()
        stop.set()
        medic_thread.join()
        soak.revive_hosts()
        report = soak.report
        report.faults_fired = soak.fired()
        for client in soak.clients.values():
            client.emulator.ClearFaultRules(fault_rules_pb2.ClearFaultRulesRequest())
        soak.revive_hosts()
        report.hosts_killed = soak.kills
        report.problems = settled_invariant(estate, vms=names, timeout=30)
        report.lost = len(vm_problems(estate, vms=names))
        soak.close()
    finally:
        estate.stop()
    report.keys_left = _keys_alive(settle_seconds=5.0)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _keys_alive(settle_seconds: float) -> int:
    """Migration keys anywhere in this process that were not wiped. A call still unwinding when its server
    stopped (a host call cut short) wipes its key as it ends: give such calls `settle_seconds`."""
    deadline = time.monotonic() + settle_seconds
    while True:
        gc.collect()
        alive = sum(1 for o in gc.get_objects() if isinstance(o, MigrationSecrets) and not o.wiped)
        if alive == 0 or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)

"""One vCenter Server: its state, its tasks, its hosts and its linked peers, as one instance.

Nothing here is global: two vCenters in one process share nothing but the process.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ..crypto.pki import Credential
from ..kms.providers import KeyProviders
from ..migration.arrivals import Arrivals
from ..migration.check import RelocateCheck, check_relocate
from ..migration.journal import OUTGOING
from ..migration.slots import VMotionSlots
from ..migration.source import Migrations
from ..migration.spec import RelocateRequest
from ..model.fault_rules import FaultInjector, FaultRule
from ..model.faults import Fault, InvalidArgument
from ..model.inventory import HOST_CONNECTED, HOST_NOT_RESPONDING, Host, Vm
from ..model.migration import PartKind
from ..model.settings import MigrateEncryption, PowerState
from ..model.tasks import Task
from ..model.versions import build_number
from ..reaper import Reaper
from ..rpc.convert import fault_rule_to_proto
from ..topology.spec import VCenterSpec, VCenterTimeouts
from ..v1 import fault_rules_pb2
from ..vmotion.disks import DATA_KEY_BYTES
from .bulk_encryption import BulkMigrateEncryption
from .datastores import DatastoreFolders
from .evacuation import Evacuations
from .guest_control import GuestControl
from .host_client import HostConnections
from .macs import MacPool
from .peers import PeerInfo
from .performance import PerformanceManager
from .seed import ensure_disk_files, seed_inventory
from .snapshots import Snapshots
from .state import VCenterState
from .store import InventoryStore
from .tasks import TaskRunner
from .vm_crypto import CryptoChange, VmCrypto
from .vm_lifecycle import VmLifecycle
from .vm_operations import VmOperations

log = logging.getLogger(__name__)

CONNECT_HOSTS_AT_ONCE = 8


class VCenter:
    def __init__(self, spec: VCenterSpec, domain: str, credential: Credential, store: InventoryStore,
                 host_addresses: dict[str, str], datastores: DatastoreFolders, keys: KeyProviders) -> None:
        self.spec = spec
        self.keys = keys
        self.datastores = datastores
        self.domain = domain
        self.credential = credential
        self.url = ""
        self.metrics_url = ""          # where its Prometheus metrics are served, once it runs
        self.login_url = ""       # where users log in with a password (the login listener), once started
        self.state = VCenterState(spec.name, store)
        self.tasks = TaskRunner(self.state)
        self.hosts = HostConnections(credential, spec.timeouts.host_call)
        self._host_addresses = dict(host_addresses)
        self.timeouts: VCenterTimeouts = spec.timeouts
        self.reaper = Reaper(spec.name)
        self.slots = VMotionSlots(claims_last=4 * spec.timeouts.slot_retry)
        self.faults = FaultInjector(spec.name)
        self.vm_operations = VmOperations(self.state, self.hosts, self.tasks)
        self.macs = MacPool(self.state)
        self.lifecycle = VmLifecycle(self.state, self.hosts, self.tasks, datastores, self.macs, lambda: self.arrivals.pending())
        self.snapshots = Snapshots(self.state, self.tasks)
        self.crypto = VmCrypto(self.state, self.tasks, datastores, keys)
        self.guest = GuestControl(self.state, self.hosts)
        self.arrivals = Arrivals(self)
        self.migrations = Migrations(self, self.arrivals, self.tasks)
        self.bulk_encryption = BulkMigrateEncryption(self.state, self.tasks)
        self.evacuations = Evacuations(self)
        self.performance = PerformanceManager(self.state, self.hosts, spec.timeouts)
        self._peers: dict[str, PeerInfo] = {}
        self._killed = False
        self._peers_lock = threading.Lock()
        if not self.state.meta("instance_uuid"):
            self.state.update(meta={"instance_uuid": str(uuid.uuid4())})
        if not self.state.meta("seeded"):
            seed_inventory(self.state, spec, self._host_addresses, datastores, self.macs, self._new_vm_key)
        else:
            ensure_disk_files(self.state, datastores)

    # -- identity --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def instance_uuid(self) -> str:
        return self.state.meta("instance_uuid") or ""

    @property
    def version(self) -> str:
        return str(self.spec.version)

    @property
    def build(self) -> str:
        return build_number("vpx", self.spec.version)

    @property
    def key_providers(self) -> tuple[str, ...]:
        """The key providers this vCenter can get keys from: the topology's and those restored here."""
        return tuple(self.keys.names())

    def _new_vm_key(self, provider: str) -> tuple[str, str]:
        """(key id, key safe) for a new encrypted VM: a data key wrapped under a new key of `provider`."""
        data_key = bytearray(os.urandom(DATA_KEY_BYTES))
        try:
            key_id, key_safe = self.keys.new_data_key(provider, data_key)
        finally:
            data_key[:] = bytes(len(data_key))
        return key_id, base64.b64encode(key_safe).decode()

    def reconfigure_crypto(self, vm: Vm, change: CryptoChange, user: str) -> Task:
        return self.crypto.reconfigure(vm, change, user)

    @property
    def thumbprint(self) -> str:
        return self.credential.thumbprint

    def me_as_peer(self) -> PeerInfo:
        return PeerInfo(self.name, self.instance_uuid, self.version, self.domain, self.url, self.thumbprint)

    # -- linked mode -----------------------------------------------------------------------------

    def add_peer(self, peer: PeerInfo) -> None:
        with self._peers_lock:
            self._peers[peer.name] = peer

    def peers(self) -> list[PeerInfo]:
        with self._peers_lock:
            return sorted(self._peers.values(), key=lambda p: p.name)

    # -- hosts -----------------------------------------------------------------------------------

    def connect_hosts(self) -> None:
        """Brings every host up to date with the inventory: addresses, reachability, its VMs.

        Hosts keep VMs only in memory, so after a host or vCenter restart the vCenter registers its
        VMs again and powers on those the inventory says run there (as vSphere HA restarts them).
        A host that does not answer is marked not responding; the others go on.
        """
        vms_by_host: dict[str, list[Vm]] = {}
        for vm in self.state.all(Vm):
            vms_by_host.setdefault(vm.host, []).append(vm)
        hosts = self.state.all(Host)
        if hosts:     # a few hosts at once: each connection's first call is a TLS handshake
            with ThreadPoolExecutor(max_workers=min(len(hosts), CONNECT_HOSTS_AT_ONCE), thread_name_prefix="connect") as pool:
                list(pool.map(lambda host: self._reconnect_host(host, vms_by_host.get(host.moid, [])), hosts))

    def _reconnect_host(self, host: Host, vms: list[Vm]) -> None:
        address = self._host_addresses.get(host.name, host.agent_address)
        try:
            self._connect_host(replace(host, agent_address=address), vms)
        except Fault as fault:
            log.warning("host %s does not answer: %s", host.name, fault)
            self.state.update(put=[replace(self.state.get(host.moid, Host), agent_address=address,
                                           connection_state=HOST_NOT_RESPONDING)])

    def _connect_host(self, host: Host, vms: list[Vm]) -> None:
        about = self.hosts.agent(host).about(timeout=self.timeouts.host_connect)
        host = replace(host, connection_state=HOST_CONNECTED, vmotion_address=about.vmotion.address)
        self.state.update(put=[host])
        moving = {e.data.get("vm") for e in self.state.journal(OUTGOING)}   # settling decides where those run
        power_on = [vm for vm in vms if vm.power_state == PowerState.POWERED_ON and vm.moid not in moving]
        self.hosts.agent(host).register_all(vms, power_on)

    def host_moved(self, name: str, address: str) -> None:
        """A host came back (at another address): reconnect to it and give it its VMs again."""
        self._host_addresses[name] = address
        self.connect_hosts()

    def add_fault_rule(self, rule: FaultRule) -> list[fault_rules_pb2.FaultRule]:
        """A rule for this vCenter's own steps stays here; a rule for a host step goes to the host it
        names, or to every host of this vCenter. Returns the rules as each part took them."""
        if rule.part == self.name or (not rule.part and rule.step.part_kind is PartKind.VCENTER):
            return [fault_rule_to_proto(self.faults.add(replace(rule, part=self.name)))]
        hosts = [h for h in self.state.all(Host) if rule.part in ("", h.name)]
        if not hosts:
            raise InvalidArgument(f"{self.name} is not {rule.part!r} and manages no host of that name: install the rule "
                                  f"through the Emulator service of the vCenter that has it", argument="part")
        return [self.hosts.agent(h).add_fault_rule(replace(rule, part=h.name)) for h in hosts]

    def install_topology_fault_rules(self) -> None:
        for rule in self.spec.fault_rules:
            self.add_fault_rule(rule)

    # -- operations ------------------------------------------------------------------------------

    def power_on_vm(self, vm: Vm, user: str) -> Task:
        return self.vm_operations.power_on(vm, user)

    def power_off_vm(self, vm: Vm, user: str) -> Task:
        return self.vm_operations.power_off(vm, user)

    def reconfigure_vm(self, vm: Vm, user: str, *, migrate_encryption: MigrateEncryption | None,
                       extra_config: dict[str, str] | None = None) -> Task:
        return self.vm_operations.reconfigure(vm, user, migrate_encryption=migrate_encryption, extra_config=extra_config)

    def relocate_vm(self, vm: Vm, request: RelocateRequest, user: str) -> Task:
        return self.migrations.relocate(vm, request, user)

    def check_relocate(self, vm: Vm, request: RelocateRequest) -> RelocateCheck:
        return check_relocate(self, self.arrivals, vm, request)

    # -- MAC addresses ---------------------------------------------------------------------------

    def blocked_macs(self) -> list[str]:
        return [str(mac) for mac in json.loads(self.state.meta("blocked_macs") or "[]")]

    def block_macs(self, macs: list[str]) -> None:
        """Row X4: MACs of a VM that left are never handed out by this vCenter again."""
        blocked = sorted(set(self.blocked_macs()) | set(macs))
        self.state.update(meta={"blocked_macs": json.dumps(blocked)})

    def reset(self) -> int:
        """Back to the topology's first inventory and key providers; the hosts drop their VMs and get the seeded ones."""
        instance_uuid = self.instance_uuid
        for host in self.state.all(Host):
            try:
                self.hosts.agent(host).reset()
            except Fault as fault:
                log.warning("host %s was not reset: %s", host.name, fault)
        self.arrivals.reset()
        self.performance.history.clear()
        self.keys.reset()
        self.state.store.wipe()
        self.state.store.apply(meta={"instance_uuid": instance_uuid})
        self.state.reload()
        self.datastores.wipe()
        seed_inventory(self.state, self.spec, self._host_addresses, self.datastores, self.macs, self._new_vm_key)
        self.connect_hosts()
        return len(self.state.all(Vm))

    @property
    def alive(self) -> bool:
        return not self._killed

    def kill(self) -> None:
        """What a killed process can no longer do: write its database, call its hosts or its peers."""
        self._killed = True
        self.reaper.stop()
        self.hosts.close(for_good=True)
        self.state.close()
        self.state.store.close()
        self.keys.close()

    def close(self) -> None:
        self.reaper.stop()
        self.state.close()
        self.tasks.shutdown()
        self.hosts.close()
        self.state.store.close()
        self.keys.close()

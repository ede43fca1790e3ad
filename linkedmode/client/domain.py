"""A client of every vCenter of one SSO domain, as one user: find objects by name wherever they are,
move VMs between the vCenters, follow tasks, read events. Failed calls raise their vSphere fault."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..crypto.pki import Credential
from ..model.faults import NotFound
from ..model.settings import MigrateEncryption
from ..rpc.convert import migrate_encryption_to_proto
from ..v1 import common_pb2, inventory_pb2, vcenter_pb2
from .connection import Endpoints, VCenterClient, connect_vcenter, credential_from_files
from .faults import faults_raised
from .relocate import choose_placement, relocate_spec, run_relocate
from .tasks import Progress, wait_task


@dataclass(frozen=True)
class Found:
    """An object found by name, with the vCenter that has it."""

    vcenter: str
    moid: str
    name: str


@dataclass(frozen=True)
class _Wait:
    """How an operation follows its task (see wait_task)."""

    on_progress: Progress | None
    raise_fault: bool
    timeout: float | None


class Client:
    """Connections to the vCenters of one SSO domain, opened on first use.

        with connect(".linkedmode") as lm:
            task = lm.relocate("app-required", to_host="esx-b1", to_vcenter="vc-b")
            print(task.migration.encrypted)
    """

    def __init__(self, addresses: dict[str, str], credential: Credential) -> None:
        self.addresses = dict(addresses)
        self.credential = credential
        self._open: dict[str, VCenterClient] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The vCenters this client knows, in the order they were given."""
        return list(self.addresses)

    def vcenter(self, name: str) -> VCenterClient:
        """The connection to vCenter `name` (its raw stubs are `.api` and `.emulator`)."""
        if name not in self.addresses:
            raise NotFound(f"no vCenter {name!r} (there are {', '.join(self.addresses)})", object=name)
        with self._lock:   # steps of a parallel block share one client
            if name not in self._open:
                self._open[name] = connect_vcenter(self.addresses[name], self.credential, name)
            return self._open[name]

    def readdress(self, addresses: dict[str, str]) -> None:
        """New addresses (a vCenter restarted elsewhere): connections to those that moved reopen."""
        with self._lock:
            for name, address in addresses.items():
                if self.addresses.get(name) != address and name in self._open:
                    self._open.pop(name).close()
                self.addresses[name] = address

    # -- finding objects -------------------------------------------------------------------------

    def vms(self, vcenter: str | None = None) -> Iterator[tuple[str, inventory_pb2.VirtualMachine]]:
        """Every VM, with the vCenter that has it (of one vCenter, when named)."""
        for name in [vcenter] if vcenter else self.names:
            with faults_raised():
                found = self.vcenter(name).api.ListVms(vcenter_pb2.ListVmsRequest()).vms
            yield from ((name, vm) for vm in found)

    def find_vms(self, name: str) -> list[Found]:
        """Every VM of that name (or moid) across the vCenters: one, unless the estate lost track."""
        return [Found(vc, vm.moid, vm.name) for vc, vm in self.vms() if name in (vm.name, vm.moid)]

    def find_vm(self, name: str) -> Found:
        """The VM of that name (or moid) and the vCenter that has it; NotFound when none has it."""
        found = self.find_vms(name)
        if not found:
            raise NotFound(f"no VM named {name!r} in {', '.join(self.names)}", object=name)
        return found[0]

    def get_vm(self, name: str) -> tuple[str, inventory_pb2.VirtualMachine]:
        """The VM as its vCenter shows it now, with that vCenter's name."""
        found = self.find_vm(name)
        with faults_raised():
            return found.vcenter, self.vcenter(found.vcenter).api.GetVm(common_pb2.ObjectRef(moid=found.moid))

    def find_host(self, name: str) -> Found:
        """The host of that name (or moid) and the vCenter that manages it."""
        for vc in self.names:
            with faults_raised():
                hosts = self.vcenter(vc).api.ListHosts(inventory_pb2.ListRequest()).hosts
            for host in hosts:
                if name in (host.name, host.moid):
                    return Found(vc, host.moid, host.name)
        raise NotFound(f"no host named {name!r} in {', '.join(self.names)}", object=name)

    def get_host(self, vcenter: str, moid: str) -> inventory_pb2.HostSystem:
        """A host of `vcenter` as it shows itself: version, capability, connection (find_host gives its moid)."""
        with faults_raised():
            return self.vcenter(vcenter).api.GetHost(common_pb2.ObjectRef(moid=moid))

    def host_name(self, vcenter: str, moid: str) -> str:
        return self.get_host(vcenter, moid).name

    def blocked_macs(self, vcenter: str) -> list[str]:
        """The MAC addresses `vcenter` will not hand out again (those of VMs that left it, row X4)."""
        with faults_raised():
            return list(self.vcenter(vcenter).api.ListBlockedMacs(vcenter_pb2.ListBlockedMacsRequest()).mac_addresses)

    def announcements(self, host: str) -> list[inventory_pb2.NetworkAnnouncement]:
        """What `host` (name or moid, in whichever vCenter manages it) sent on its network for its VMs,
        oldest first: the RARP frame of each MAC of a VM that arrived by vMotion (row V7)."""
        found = self.find_host(host)
        with faults_raised():
            return list(self.vcenter(found.vcenter).api.ListHostAnnouncements(common_pb2.ObjectRef(moid=found.moid)).announcements)

    def perf(self, vm: str, *, vcenter: str | None = None, moid: str = "", max_sample: int = 0) -> vcenter_pb2.QueryPerfResponse:
        """QueryPerf: the realtime samples one vCenter holds of a VM, oldest first. By name, in the vCenter
        that has it now (or in `vcenter`); by `moid` (with `vcenter`), also a VM that left that vCenter,
        whose history stayed behind there (row X5)."""
        where = vcenter or self.find_vm(vm).vcenter
        request = vcenter_pb2.QueryPerfRequest(vm=common_pb2.ObjectRef(moid=moid, name="" if moid else vm), max_sample=max_sample)
        with faults_raised():
            return self.vcenter(where).api.QueryPerf(request)

    # -- operations ------------------------------------------------------------------------------

    def wait(self, vcenter: str, task: common_pb2.Task, *, on_progress: Progress | None = None,
             raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        """Follows a task of `vcenter` to its end (see wait_task)."""
        return wait_task(self.vcenter(vcenter), task, on_progress=on_progress, raise_fault=raise_fault, timeout=timeout)

    def _vm_task(self, vm: str, call: str, request: object, wait: _Wait) -> common_pb2.Task:
        found = self.find_vm(vm)
        api = self.vcenter(found.vcenter).api
        with faults_raised():
            task = getattr(api, call)(request if request is not None else common_pb2.ObjectRef(moid=found.moid))
        return self.wait(found.vcenter, task, on_progress=wait.on_progress, raise_fault=wait.raise_fault, timeout=wait.timeout)

    def power_on(self, vm: str, *, on_progress: Progress | None = None,
                 raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        return self._vm_task(vm, "PowerOnVm", None, _Wait(on_progress, raise_fault, timeout))

    def power_off(self, vm: str, *, on_progress: Progress | None = None,
                  raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        return self._vm_task(vm, "PowerOffVm", None, _Wait(on_progress, raise_fault, timeout))

    def set_migrate_encryption(self, vm: str, mode: MigrateEncryption | str, *, on_progress: Progress | None = None,
                               raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        """ReconfigVm with a new migrate_encryption (only while the VM is powered off, row E5)."""
        wanted = mode if isinstance(mode, MigrateEncryption) else MigrateEncryption.parse(mode)
        request = vcenter_pb2.ReconfigVmRequest(
            vm=common_pb2.ObjectRef(moid=self.find_vm(vm).moid),
            spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=migrate_encryption_to_proto(wanted)))
        return self._vm_task(vm, "ReconfigVm", request, _Wait(on_progress, raise_fault, timeout))

    def encrypt(self, vm: str, key_provider: str = "", *, on_progress: Progress | None = None,
                raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        """ReconfigVm with `spec.crypto.encrypt`: VM encryption under `key_provider` (default: the vCenter's
        default provider), only while the VM is powered off and has no snapshots (row K2)."""
        crypto = vcenter_pb2.CryptoSpec(encrypt=vcenter_pb2.CryptoSpecEncrypt(key_provider=key_provider))
        return self._reconfigure(vm, vcenter_pb2.VirtualMachineConfigSpec(crypto=crypto), _Wait(on_progress, raise_fault, timeout))

    def decrypt(self, vm: str, *, on_progress: Progress | None = None,
                raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        """ReconfigVm with `spec.crypto.decrypt`: the VM's disks in the clear again; its migrate_encryption
        stays `required` until changed (row E6)."""
        crypto = vcenter_pb2.CryptoSpec(decrypt=vcenter_pb2.CryptoSpecDecrypt())
        return self._reconfigure(vm, vcenter_pb2.VirtualMachineConfigSpec(crypto=crypto), _Wait(on_progress, raise_fault, timeout))

    def _reconfigure(self, vm: str, spec: vcenter_pb2.VirtualMachineConfigSpec, wait: _Wait) -> common_pb2.Task:
        request = vcenter_pb2.ReconfigVmRequest(vm=common_pb2.ObjectRef(moid=self.find_vm(vm).moid), spec=spec)
        return self._vm_task(vm, "ReconfigVm", request, wait)

    def snapshot(self, vm: str, name: str, description: str = "", *, on_progress: Progress | None = None,
                 raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        request = vcenter_pb2.CreateSnapshotRequest(vm=common_pb2.ObjectRef(moid=self.find_vm(vm).moid), name=name,
                                                    description=description)
        return self._vm_task(vm, "CreateSnapshot", request, _Wait(on_progress, raise_fault, timeout))

    def destroy(self, vm: str, *, on_progress: Progress | None = None,
                raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        return self._vm_task(vm, "DestroyVm", None, _Wait(on_progress, raise_fault, timeout))

    def create_vm(self, request: vcenter_pb2.CreateVmRequest, *, vcenter: str | None = None,
                  on_progress: Progress | None = None, raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        """CreateVm in `vcenter` (default: the one that manages `request.host`)."""
        where = vcenter or self.find_host(request.host).vcenter
        with faults_raised():
            task = self.vcenter(where).api.CreateVm(request)
        return self.wait(where, task, on_progress=on_progress, raise_fault=raise_fault, timeout=timeout)

    def relocate_request(self, vm: str, to_host: str, *, to_vcenter: str | None = None, datastore: str | None = None,
                         pool: str | None = None, networks: dict[str, str] | None = None) -> tuple[str, vcenter_pb2.RelocateSpec]:
        """The vCenter that has `vm`, and the RelocateSpec that moves it to `to_host` (of `to_vcenter`,
        default the host's own vCenter), with a ServiceLocator from the target's GetAbout."""
        source = self.find_vm(vm).vcenter
        target = to_vcenter or self.find_host(to_host).vcenter
        placement = choose_placement(self.vcenter(target), to_host, datastore, pool)
        keep = datastore is None and target == source
        return source, relocate_spec(self.vcenter(source), self.vcenter(target), placement, keep_datastore=keep,
                                     networks=networks)

    def relocate(self, vm: str, to_host: str, *, to_vcenter: str | None = None, datastore: str | None = None,
                 pool: str | None = None, networks: dict[str, str] | None = None, on_progress: Progress | None = None,
                 raise_fault: bool = True, timeout: float | None = None) -> common_pb2.Task:
        """Moves `vm` to `to_host` and follows the task; a refusal raises its fault (unless `raise_fault`
        is False). The returned task's `migration` says where the VM is and how it crossed."""
        source, spec = self.relocate_request(vm, to_host, to_vcenter=to_vcenter, datastore=datastore, pool=pool,
                                             networks=networks)
        return run_relocate(self.vcenter(source), self.find_vm(vm).name, spec, on_progress=on_progress,
                            raise_fault=raise_fault, timeout=timeout)

    def check_relocate(self, vm: str, to_host: str, *, to_vcenter: str | None = None, datastore: str | None = None,
                       pool: str | None = None, networks: dict[str, str] | None = None) -> vcenter_pb2.CheckRelocateResponse:
        """What RelocateVm would meet, without moving (row V11)."""
        source, spec = self.relocate_request(vm, to_host, to_vcenter=to_vcenter, datastore=datastore, pool=pool,
                                             networks=networks)
        request = vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=self.find_vm(vm).name), spec=spec)
        with faults_raised():
            return self.vcenter(source).api.CheckRelocate(request)

    # -- key providers ---------------------------------------------------------------------------

    def key_providers(self, vcenter: str) -> list[vcenter_pb2.KeyProviderInfo]:
        """The key providers `vcenter` gets keys from (name, native or a KMS's address, which is the default)."""
        with faults_raised():
            return list(self.vcenter(vcenter).api.ListKeyProviders(vcenter_pb2.ListKeyProvidersRequest()).providers)

    def backup_key_provider(self, vcenter: str, name: str, password: str) -> bytes:
        """Native Key Provider `name` of `vcenter`, sealed under `password` (at least 8 characters), to
        restore elsewhere (row K3). Keep the password and the backup out of logs and files others read."""
        with faults_raised():
            request = vcenter_pb2.BackupKeyProviderRequest(name=name, password=password)
            return self.vcenter(vcenter).api.BackupKeyProvider(request).backup

    def restore_key_provider(self, vcenter: str, backup: bytes, password: str) -> vcenter_pb2.KeyProviderInfo:
        """A backup of `backup_key_provider` restored into `vcenter`, which then gets that provider's keys."""
        with faults_raised():
            return self.vcenter(vcenter).api.RestoreKeyProvider(vcenter_pb2.RestoreKeyProviderRequest(backup=backup, password=password))

    # -- events ----------------------------------------------------------------------------------

    def events(self, *, vcenter: str | None = None, vm: str = "", types: tuple[str, ...] = (),
               after_key: int = 0) -> Iterator[tuple[str, common_pb2.Event]]:
        """The events posted so far (on one vCenter, or each in turn), oldest first, with their vCenter.
        `vm` (a name or moid) keeps those about that VM, also on a vCenter it has since left."""
        for name in [vcenter] if vcenter else self.names:
            key = after_key
            while True:
                request = vcenter_pb2.EventFilter(after_key=key, types=list(types), limit=1000)
                with faults_raised():
                    found = self.vcenter(name).api.QueryEvents(request).events
                if not found:
                    break
                key = found[-1].key
                yield from ((name, e) for e in found if not vm or vm in (e.vm_name, e.vm))

    def watch_events(self, vcenter: str, *, vm: str = "", types: tuple[str, ...] = (),
                     after_key: int = 0) -> Iterator[common_pb2.Event]:
        """The events of one vCenter as they are posted, until the caller stops iterating."""
        request = vcenter_pb2.EventFilter(after_key=after_key, vm=vm, types=list(types))
        stream = self.vcenter(vcenter).api.WatchEvents(request)
        try:
            with faults_raised():
                yield from stream
        finally:
            stream.cancel()

    def close(self) -> None:
        for client in self._open.values():
            client.close()
        self._open.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(state_dir: str | Path = ".linkedmode", *, domain: str = "vsphere.local", user: str = "administrator") -> Client:
    """A client of the estate that `linkedmode up --state-dir STATE_DIR` runs, as `user` of `domain`."""
    endpoints = Endpoints(Path(state_dir))
    addresses = {vc["name"]: vc["address"] for vc in endpoints.vcenters(domain)}
    return Client(addresses, endpoints.user(domain, user))


def connect_with_certificates(addresses: dict[str, str], *, certificate: str | Path, key: str | Path,
                              ca: str | Path) -> Client:
    """A client of the vCenters at `addresses` ({"vc-a": "127.0.0.1:8443"}) with a user's certificate
    and key files and the CA that signed them; the certificate says which user and SSO domain."""
    return Client(addresses, credential_from_files(certificate, key, ca))

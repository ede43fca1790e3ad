"""The VCenter service: translation only. The VCenter instance and its state decide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import grpc

from ..migration.spec import LocatorCredential, MigrationTarget, NetworkChange, RelocateRequest, ServiceLocator
from ..model.faults import InvalidArgument
from ..model.inventory import Cluster, Datacenter, Datastore, Host, ManagedObject, Network, Vm
from ..model.settings import MigrateEncryption
from ..model.validation import required, whole_number
from ..rpc.auth import current_principal, on_event_loop
from ..rpc.convert import migrate_encryption_from_proto, power_state_from_proto
from ..rpc.faults import fault_to_proto
from ..rpc.watch import ChangeFeed
from ..v1 import common_pb2, inventory_pb2, vcenter_pb2, vcenter_pb2_grpc
from . import translate
from .answers import Answers
from .bulk_encryption import VmFilter
from .evacuation import EvacuationSpec
from .key_provider_calls import KeyProviderCalls
from .observation_calls import ObservationCalls
from .vcenter import VCenter
from .vm_crypto import CryptoChange, DecryptVm, EncryptVm
from .vm_lifecycle import DiskRequest, VmCreateSpec

T = TypeVar("T", bound=ManagedObject)

DEFAULT_TASK_LIMIT = 100
DEFAULT_EVENT_LIMIT = 1000
MAX_LIMIT = 1000  # tasks or events per answer, as vSphere's collectors page them; and under gRPC's 4 MB


class VCenterServicer(KeyProviderCalls, ObservationCalls, vcenter_pb2_grpc.VCenterServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc
        self._datacenters = Answers(translate.datacenter)
        self._clusters = Answers(translate.cluster)
        self._datastores = Answers(translate.datastore)
        self._networks = Answers(translate.network)
        self._vms = Answers(translate.vm)

    # -- helpers ---------------------------------------------------------------------------------

    def _find(self, cls: type[T], ref) -> T:  # type: ignore[no-untyped-def]  # any message with moid and name
        return self.vc.state.find(cls, moid=ref.moid, name=ref.name)

    def _in_datacenter(self, cls: type[T], datacenter: str) -> list[T]:
        found = self.vc.state.all(cls)
        if not datacenter:
            return found
        dc = self.vc.state.resolve(Datacenter, datacenter)
        return [o for o in found if getattr(o, "datacenter", o.moid) == dc.moid]

    def _host(self, h: Host) -> inventory_pb2.HostSystem:
        return translate.host(h, [v.moid for v in self.vc.state.all(Vm) if v.host == h.moid])

    @staticmethod
    def _user() -> str:
        return current_principal().name

    # -- about and inventory ---------------------------------------------------------------------
    # A call that reads one object from memory runs on the event loop (rpc.auth.on_event_loop): the
    # state's lookups by moid and by name take no lock. Lists and GetHost (a scan) run in threads.

    def GetAbout(self, request: vcenter_pb2.GetAboutRequest, context: grpc.ServicerContext) -> vcenter_pb2.AboutInfo:
        vc = self.vc
        return vcenter_pb2.AboutInfo(
            name=vc.name,
            full_name=f"VMware vCenter Server {vc.version} build-{vc.build} (linkedmode)",
            version=vc.version,
            build=vc.build,
            api_type="VirtualCenter",
            instance_uuid=vc.instance_uuid,
            sso_domain=vc.domain,
            url=vc.url,
            thumbprint=vc.thumbprint,
            metrics_url=vc.metrics_url,
            login_url=vc.login_url,
        )

    def ListLinkedVCenters(
        self, request: vcenter_pb2.ListLinkedVCentersRequest, context: grpc.ServicerContext
    ) -> vcenter_pb2.ListLinkedVCentersResponse:
        """The other vCenters of this SSO domain (Enhanced Linked Mode), with what a ServiceLocator needs."""
        return vcenter_pb2.ListLinkedVCentersResponse(vcenters=[
            vcenter_pb2.LinkedVCenter(name=p.name, instance_uuid=p.instance_uuid, version=p.version, sso_domain=p.sso_domain,
                                      url=p.url, thumbprint=p.thumbprint) for p in self.vc.peers()])

    def ListDatacenters(self, request: inventory_pb2.ListRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListDatacentersResponse:
        found = self._in_datacenter(Datacenter, request.datacenter)
        return vcenter_pb2.ListDatacentersResponse(datacenters=[translate.datacenter(d) for d in found])

    def ListClusters(self, request: inventory_pb2.ListRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListClustersResponse:
        return vcenter_pb2.ListClustersResponse(clusters=[translate.cluster(c) for c in self._in_datacenter(Cluster, request.datacenter)])

    def ListHosts(self, request: inventory_pb2.ListRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListHostsResponse:
        return vcenter_pb2.ListHostsResponse(hosts=[self._host(h) for h in self._in_datacenter(Host, request.datacenter)])

    def ListDatastores(self, request: inventory_pb2.ListRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListDatastoresResponse:
        return vcenter_pb2.ListDatastoresResponse(
            datastores=[translate.datastore(d) for d in self._in_datacenter(Datastore, request.datacenter)]
        )

    def ListNetworks(self, request: inventory_pb2.ListRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListNetworksResponse:
        return vcenter_pb2.ListNetworksResponse(networks=[translate.network(n) for n in self._in_datacenter(Network, request.datacenter)])

    def ListVms(self, request: vcenter_pb2.ListVmsRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListVmsResponse:
        vms = self._in_datacenter(Vm, request.datacenter)
        if request.host:
            host = self.vc.state.resolve(Host, request.host)
            vms = [v for v in vms if v.host == host.moid]
        return vcenter_pb2.ListVmsResponse(vms=[translate.vm(v) for v in vms])

    @on_event_loop
    def GetDatacenter(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.Datacenter:
        return self._datacenters(self._find(Datacenter, request))

    @on_event_loop
    def GetCluster(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.Cluster:
        return self._clusters(self._find(Cluster, request))

    def GetHost(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.HostSystem:
        return self._host(self._find(Host, request))

    @on_event_loop
    def GetDatastore(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.Datastore:
        return self._datastores(self._find(Datastore, request))

    @on_event_loop
    def GetNetwork(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.Network:
        return self._networks(self._find(Network, request))

    @on_event_loop
    def GetVm(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.VirtualMachine:
        return self._vms(self._find(Vm, request))

    # -- VM operations ---------------------------------------------------------------------------

    def PowerOnVm(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.power_on_vm(self._find(Vm, request), self._user()))

    def PowerOffVm(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.power_off_vm(self._find(Vm, request), self._user()))

    def ReconfigVm(self, request: vcenter_pb2.ReconfigVmRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        vm = self._find(Vm, request.vm)
        if request.spec.HasField("crypto"):
            if request.spec.HasField("migrate_encryption") or request.spec.extra_config:
                raise InvalidArgument("spec.crypto encrypts or decrypts the VM alone: change other settings in another call",
                                      argument="spec.crypto")
            return translate.task(self.vc.reconfigure_crypto(vm, self._crypto_change(request.spec.crypto), self._user()))
        mode = None
        if request.spec.HasField("migrate_encryption"):
            mode = migrate_encryption_from_proto(request.spec.migrate_encryption)
        return translate.task(self.vc.reconfigure_vm(vm, self._user(), migrate_encryption=mode,
                                                     extra_config=dict(request.spec.extra_config)))

    @staticmethod
    def _crypto_change(spec: vcenter_pb2.CryptoSpec) -> CryptoChange:
        if spec.HasField("encrypt"):
            return EncryptVm(spec.encrypt.key_provider)
        if spec.HasField("decrypt"):
            return DecryptVm()
        raise InvalidArgument("spec.crypto names neither encrypt nor decrypt", argument="spec.crypto")

    @staticmethod
    def _relocation(request: vcenter_pb2.RelocateVmRequest) -> RelocateRequest:
        spec, service = request.spec, None
        if spec.HasField("service"):
            given = spec.service.credential
            credential = LocatorCredential(given.username, given.password) if spec.service.HasField("credential") else None
            service = ServiceLocator(spec.service.instance_uuid, spec.service.url, spec.service.ssl_thumbprint, credential)
        changes = tuple(NetworkChange(c.device, c.network) for c in spec.device_change)
        return RelocateRequest(MigrationTarget(spec.host, spec.datastore, spec.pool), service,
                               translate.priority_from_proto(request.priority), changes)

    def RelocateVm(self, request: vcenter_pb2.RelocateVmRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        vm = self._find(Vm, request.vm)
        return translate.task(self.vc.relocate_vm(vm, self._relocation(request), self._user()))

    def CheckRelocate(self, request: vcenter_pb2.RelocateVmRequest, context: grpc.ServicerContext) -> vcenter_pb2.CheckRelocateResponse:
        check = self.vc.check_relocate(self._find(Vm, request.vm), self._relocation(request))
        answer = vcenter_pb2.CheckRelocateResponse(errors=[fault_to_proto(f) for f in check.errors],
                                                   warnings=[fault_to_proto(f) for f in check.warnings], vcenter=check.vcenter)
        if check.admission is not None:
            a = check.admission
            answer.host, answer.hot, answer.encrypted = a.destination_host.name, a.arrival.hot, a.decision.encrypted
            answer.reason = a.decision.reason
        return answer

    def CreateVm(self, request: vcenter_pb2.CreateVmRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        mode = MigrateEncryption.OPPORTUNISTIC
        if request.HasField("migrate_encryption"):
            mode = migrate_encryption_from_proto(request.migrate_encryption)
        spec = VmCreateSpec(
            request.name, request.datastore, request.memory_mb, host=request.host, cluster=request.cluster,
            num_cpu=request.num_cpu or 1, disks=tuple(DiskRequest(d.capacity_mb, d.datastore) for d in request.disks),
            networks=tuple(n.network for n in request.nics), migrate_encryption=mode,
            dirty_rate_mbps=request.workload.dirty_rate_mbps, working_set_mb=request.workload.working_set_mb,
        )
        return translate.task(self.vc.lifecycle.create(spec, self._user()))

    def DestroyVm(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.lifecycle.destroy(self._find(Vm, request), self._user()))

    def CreateSnapshot(self, request: vcenter_pb2.CreateSnapshotRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        vm = self._find(Vm, request.vm)
        return translate.task(self.vc.snapshots.create(vm, request.name, request.description, self._user()))

    def RemoveSnapshot(self, request: vcenter_pb2.RemoveSnapshotRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.snapshots.remove(self._find(Vm, request.vm), request.snapshot, self._user()))

    def ListSnapshots(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> vcenter_pb2.ListSnapshotsResponse:
        vm = self._find(Vm, request)
        return vcenter_pb2.ListSnapshotsResponse(snapshots=[translate.snapshot(s) for s in self.vc.snapshots.list(vm)])

    def ListBlockedMacs(
        self, request: vcenter_pb2.ListBlockedMacsRequest, context: grpc.ServicerContext
    ) -> vcenter_pb2.ListBlockedMacsResponse:
        return vcenter_pb2.ListBlockedMacsResponse(mac_addresses=self.vc.blocked_macs())

    # -- bulk operations -------------------------------------------------------------------------

    @staticmethod
    def _vm_filter(f: vcenter_pb2.VmFilter) -> VmFilter:
        return VmFilter(f.name, f.host, power_state_from_proto(f.power_state) if f.power_state else None,
                        migrate_encryption_from_proto(f.migrate_encryption) if f.migrate_encryption else None)

    @staticmethod
    def _evacuation(request: vcenter_pb2.EvacuateHostRequest) -> EvacuationSpec:
        return EvacuationSpec(required("host", request.host), request.target_vcenter, tuple(request.target_hosts),
                              translate.priority_from_proto(request.priority))

    def SetMigrateEncryption(self, request: vcenter_pb2.SetMigrateEncryptionRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        mode = migrate_encryption_from_proto(request.migrate_encryption)
        return translate.task(self.vc.bulk_encryption.set(self._vm_filter(request.filter), mode, self._user()))

    def EvacuateHost(self, request: vcenter_pb2.EvacuateHostRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.evacuations.evacuate(self._evacuation(request), self._user()))

    def EnterMaintenanceMode(self, request: vcenter_pb2.EvacuateHostRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.evacuations.enter_maintenance(self._evacuation(request), self._user()))

    def ExitMaintenanceMode(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.evacuations.exit_maintenance(self._find(Host, request).moid, self._user()))

    # -- tasks and events ------------------------------------------------------------------------

    @on_event_loop
    def GetTask(self, request: vcenter_pb2.GetTaskRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.state.task(request.key))

    def ListTasks(self, request: vcenter_pb2.ListTasksRequest, context: grpc.ServicerContext) -> vcenter_pb2.ListTasksResponse:
        limit = whole_number("limit", request.limit, 0, MAX_LIMIT) or DEFAULT_TASK_LIMIT
        tasks = [t for t in self.vc.state.tasks() if not request.entity or t.entity == request.entity]
        return vcenter_pb2.ListTasksResponse(tasks=[translate.task(t) for t in tasks[:limit]])

    async def WaitTask(self, request: vcenter_pb2.GetTaskRequest, context: Any) -> AsyncIterator[common_pb2.Task]:
        state = self.vc.state
        state.task(request.key)   # NotFound before the stream starts
        async for task in state.watch_task(request.key, ChangeFeed.of(state.changed, lambda: state.closed)):
            yield translate.task(task)

    def CancelTask(self, request: vcenter_pb2.GetTaskRequest, context: grpc.ServicerContext) -> common_pb2.Task:
        return translate.task(self.vc.tasks.cancel(request.key))

    def _event_filter(self, request) -> tuple[int, str, list[str], int]:  # type: ignore[no-untyped-def]  # a ListEvents or WatchEvents request
        """An EventFilter as the store takes it: after_key, the VM's moid ("" for every VM), types, limit."""
        after_key = whole_number("after_key", request.after_key, 0, 2**63 - 1)
        limit = whole_number("limit", request.limit, 0, MAX_LIMIT) or DEFAULT_EVENT_LIMIT
        vm = request.vm
        moid = self.vc.state.resolve(Vm, vm).moid if vm else ""
        return after_key, moid, list(request.types), limit

    def QueryEvents(self, request: vcenter_pb2.EventFilter, context: grpc.ServicerContext) -> vcenter_pb2.QueryEventsResponse:
        after_key, vm, types, limit = self._event_filter(request)
        found = self.vc.state.events(after_key=after_key, vm=vm, types=types, limit=limit)
        return vcenter_pb2.QueryEventsResponse(events=[translate.event(e) for e in found])

    async def WatchEvents(self, request: vcenter_pb2.EventFilter, context: Any) -> AsyncIterator[common_pb2.Event]:
        state = self.vc.state
        after_key, vm, types, _ = self._event_filter(request)
        changes = ChangeFeed.of(state.changed, lambda: state.closed)
        async for found in state.watch_events(after_key=after_key, vm=vm, types=types, changes=changes):
            yield translate.event(found)

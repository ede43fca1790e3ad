"""The VCenter service: translation only. The VCenter instance and its state decide."""

from __future__ import annotations

from typing import TypeVar

from ..model.inventory import Cluster, Datacenter, Datastore, Host, ManagedObject, Network, Vm
from ..model.validation import whole_number
from ..rpc.auth import current_principal
from ..rpc.convert import migrate_encryption_from_proto
from ..rpc.watch import ChangeFeed
from ..v1 import linked_mode_pb2, vcenter_pb2_grpc
from ..v1 import vcenter_pb2 as pb
from . import translate
from .incoming import MigrationTarget
from .locator import ServiceLocator
from .peer_servicers import peer_to_proto
from .relocate import RelocateRequest
from .vcenter import VCenter

T = TypeVar("T", bound=ManagedObject)

DEFAULT_TASK_LIMIT = 100
DEFAULT_EVENT_LIMIT = 1000
MAX_LIMIT = 1000             # tasks or events per answer, as vSphere's collectors page them; and under gRPC's 4 MB


class VCenterServicer(vcenter_pb2_grpc.VCenterServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    # -- helpers ---------------------------------------------------------------------------------

    def _find(self, cls: type[T], ref) -> T:  # type: ignore[no-untyped-def]
        return self.vc.state.find(cls, moid=ref.moid, name=ref.name)

    def _in_datacenter(self, cls: type[T], datacenter: str) -> list[T]:
        found = self.vc.state.all(cls)
        if not datacenter:
            return found
        dc = self.vc.state.resolve(Datacenter, datacenter)
        return [o for o in found if getattr(o, "datacenter", o.moid) == dc.moid]

    def _host(self, h: Host):  # type: ignore[no-untyped-def]
        return translate.host(h, [v.moid for v in self.vc.state.all(Vm) if v.host == h.moid])

    @staticmethod
    def _user() -> str:
        return current_principal().name

    # -- about and inventory ---------------------------------------------------------------------

    def GetAbout(self, request, context):
        vc = self.vc
        return pb.AboutInfo(
            name=vc.name, full_name=f"VMware vCenter Server {vc.version} build-{vc.build} (linkedmode)",
            version=vc.version, build=vc.build, api_type="VirtualCenter", instance_uuid=vc.instance_uuid,
            sso_domain=vc.domain, url=vc.url, thumbprint=vc.thumbprint,
        )

    def ListLinkedVCenters(self, request, context):
        return linked_mode_pb2.ListPeersResponse(peers=[peer_to_proto(p) for p in self.vc.peers()])

    def ListDatacenters(self, request, context):
        return pb.ListDatacentersResponse(datacenters=[translate.datacenter(d) for d in self._in_datacenter(Datacenter, request.datacenter)])

    def ListClusters(self, request, context):
        return pb.ListClustersResponse(clusters=[translate.cluster(c) for c in self._in_datacenter(Cluster, request.datacenter)])

    def ListHosts(self, request, context):
        return pb.ListHostsResponse(hosts=[self._host(h) for h in self._in_datacenter(Host, request.datacenter)])

    def ListDatastores(self, request, context):
        return pb.ListDatastoresResponse(datastores=[translate.datastore(d) for d in self._in_datacenter(Datastore, request.datacenter)])

    def ListNetworks(self, request, context):
        return pb.ListNetworksResponse(networks=[translate.network(n) for n in self._in_datacenter(Network, request.datacenter)])

    def ListVms(self, request, context):
        vms = self._in_datacenter(Vm, request.datacenter)
        if request.host:
            host = self.vc.state.resolve(Host, request.host)
            vms = [v for v in vms if v.host == host.moid]
        return pb.ListVmsResponse(vms=[translate.vm(v) for v in vms])

    def GetDatacenter(self, request, context):
        return translate.datacenter(self._find(Datacenter, request))

    def GetCluster(self, request, context):
        return translate.cluster(self._find(Cluster, request))

    def GetHost(self, request, context):
        return self._host(self._find(Host, request))

    def GetDatastore(self, request, context):
        return translate.datastore(self._find(Datastore, request))

    def GetNetwork(self, request, context):
        return translate.network(self._find(Network, request))

    def GetVm(self, request, context):
        return translate.vm(self._find(Vm, request))

    # -- VM operations ---------------------------------------------------------------------------

    def PowerOnVm(self, request, context):
        return translate.task(self.vc.power_on_vm(self._find(Vm, request), self._user()))

    def PowerOffVm(self, request, context):
        return translate.task(self.vc.power_off_vm(self._find(Vm, request), self._user()))

    def ReconfigVm(self, request, context):
        vm = self._find(Vm, request.vm)
        mode = None
        if request.spec.HasField("migrate_encryption"):
            mode = migrate_encryption_from_proto(request.spec.migrate_encryption)
        return translate.task(self.vc.reconfigure_vm(vm, self._user(), migrate_encryption=mode))

    def RelocateVm(self, request, context):
        vm = self._find(Vm, request.vm)
        spec = request.spec
        service = None
        if spec.HasField("service"):
            service = ServiceLocator(spec.service.instance_uuid, spec.service.url, spec.service.ssl_thumbprint)
        relocation = RelocateRequest(MigrationTarget(spec.host, spec.datastore, spec.pool), service)
        return translate.task(self.vc.relocate_vm(vm, relocation, self._user()))

    def ListBlockedMacs(self, request, context):
        return pb.ListBlockedMacsResponse(mac_addresses=self.vc.blocked_macs())

    # -- tasks and events ------------------------------------------------------------------------

    def GetTask(self, request, context):
        return translate.task(self.vc.state.task(request.key))

    def ListTasks(self, request, context):
        limit = whole_number("limit", request.limit, 0, MAX_LIMIT) or DEFAULT_TASK_LIMIT
        tasks = [t for t in self.vc.state.tasks() if not request.entity or t.entity == request.entity]
        return pb.ListTasksResponse(tasks=[translate.task(t) for t in tasks[:limit]])

    async def WaitTask(self, request, context):
        state = self.vc.state
        state.task(request.key)   # NotFound before the stream starts
        async for task in state.watch_task(request.key, ChangeFeed.of(state.changed, lambda: state.closed)):
            yield translate.task(task)

    def CancelTask(self, request, context):
        return translate.task(self.vc.tasks.cancel(request.key))

    def _event_filter(self, request) -> tuple[int, str, list[str], int]:  # type: ignore[no-untyped-def]
        """An EventFilter as the store takes it: after_key, the VM's moid ("" for every VM), types, limit."""
        after_key = whole_number("after_key", request.after_key, 0, 2**63 - 1)
        limit = whole_number("limit", request.limit, 0, MAX_LIMIT) or DEFAULT_EVENT_LIMIT
        vm = request.vm
        moid = self.vc.state.resolve(Vm, vm).moid if vm else ""
        return after_key, moid, list(request.types), limit

    def QueryEvents(self, request, context):
        after_key, vm, types, limit = self._event_filter(request)
        found = self.vc.state.events(after_key=after_key, vm=vm, types=types, limit=limit)
        return pb.QueryEventsResponse(events=[translate.event(e) for e in found])

    async def WatchEvents(self, request, context):
        state = self.vc.state
        after_key, vm, types, _ = self._event_filter(request)
        changes = ChangeFeed.of(state.changed, lambda: state.closed)
        async for found in state.watch_events(after_key=after_key, vm=vm, types=types, changes=changes):
            yield translate.event(found)

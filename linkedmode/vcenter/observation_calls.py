"""The VCenter calls that read what the estate did rather than what it is: a VM's performance history
(QueryPerf, row X5) and the frames a host announced on its network (RARP after vMotion, row V7). They
only translate; the PerformanceManager and the host decide."""

from __future__ import annotations

from typing import Any

from ..model.inventory import Host
from ..v1 import common_pb2, vcenter_pb2
from .vcenter import VCenter


class ObservationCalls:
    vc: VCenter

    def QueryPerf(self, request: vcenter_pb2.QueryPerfRequest, context: Any) -> vcenter_pb2.QueryPerfResponse:
        found = self.vc.performance.query(request.vm.moid, request.vm.name, request.max_sample)
        return vcenter_pb2.QueryPerfResponse(
            vm=found.vm, instance_uuid=found.instance_uuid, interval_seconds=found.interval_seconds, departed=found.departed,
            samples=[vcenter_pb2.PerfSample(time=s.time, cpu_usage_percent=s.cpu_usage_percent, mem_consumed_kb=s.mem_consumed_kb)
                     for s in found.samples])

    def ListHostAnnouncements(self, request: common_pb2.ObjectRef, context: Any) -> vcenter_pb2.ListHostAnnouncementsResponse:
        host = self.vc.state.find(Host, moid=request.moid, name=request.name)
        return vcenter_pb2.ListHostAnnouncementsResponse(announcements=self.vc.hosts.agent(host).announcements())

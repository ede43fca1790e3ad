"""HostAgent over gRPC: translation only, the host's state decides."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from ..crypto.secrets import secrets_from_wire
from ..model.faults import InvalidArgument, InvalidState
from ..model.migration import MigrationPhase, MigrationStep
from ..model.validation import whole_number
from ..rpc.convert import fault_rule_from_proto, fault_rule_to_proto, power_state_to_proto
from ..rpc.faults import fault_to_proto
from ..v1 import fault_rules_pb2, host_agent_pb2_grpc, inventory_pb2
from ..v1 import host_agent_pb2 as pb
from ..vmotion.disks import MAX_DISK_MB, DiskFile, check_disk_path
from ..vmotion.vsan import vsan_layer, wipe_all
from .announce import Announcement
from .migrations import HostMigrations, MigrationSettings, Snapshot
from .state import HostState, HostVm, HostVmConfig

_PHASES = {   # the phases a host reports
    MigrationPhase.PREPARED: pb.MIGRATION_PHASE_PREPARED,
    MigrationPhase.PRECOPY: pb.MIGRATION_PHASE_PRECOPY,
    MigrationPhase.SWITCHOVER: pb.MIGRATION_PHASE_SWITCHOVER,
    MigrationPhase.READY: pb.MIGRATION_PHASE_READY,
    MigrationPhase.COMPLETED: pb.MIGRATION_PHASE_COMPLETED,
    MigrationPhase.FAILED: pb.MIGRATION_PHASE_FAILED,
    MigrationPhase.ABORTED: pb.MIGRATION_PHASE_ABORTED,
}


def vm_config(request: inventory_pb2.VmConfig) -> HostVmConfig:
    return HostVmConfig(
        instance_uuid=request.instance_uuid, name=request.name, memory_mb=request.memory_mb,
        num_cpu=request.num_cpu or 1, dirty_rate_mbps=request.workload.dirty_rate_mbps,
        working_set_mb=request.workload.working_set_mb, mac_addresses=tuple(request.mac_addresses),
        encrypted=request.encrypted,
    )


def source_disks(spec: pb.MigrationSpec) -> list[DiskFile]:
    """The files the source host sends: one per disk that changes datastore, read through the vSAN layer
    of its datastore when the spec gives that datastore's key."""
    paths = [check_disk_path(f"spec.disk_moves[{i}].source_path", move.source_path) for i, move in enumerate(spec.disk_moves)]
    return [DiskFile(path, vsan=vsan_layer(f"spec.disk_moves[{i}].source_key", move.source_key))
            for i, (path, move) in enumerate(zip(paths, spec.disk_moves, strict=True))]


def destination_disks(spec: pb.MigrationSpec) -> list[DiskFile]:
    """The files the destination host makes, with their sizes in bytes, written through the vSAN layer
    of their datastore when the spec gives that datastore's key."""
    files = [(check_disk_path(f"disk_moves[{i}].destination_path", move.destination_path),
              whole_number(f"disk_moves[{i}].capacity_mb", move.capacity_mb, 1, MAX_DISK_MB) << 20)
             for i, move in enumerate(spec.disk_moves)]
    return [DiskFile(path, size, vsan_layer(f"disk_moves[{i}].destination_key", move.destination_key))
            for i, ((path, size), move) in enumerate(zip(files, spec.disk_moves, strict=True))]



def progress(snapshot: Snapshot) -> pb.MigrationProgress:
    message = pb.MigrationProgress(
        migration_id=snapshot.migration_id, phase=_PHASES[snapshot.phase], round=snapshot.round,
        pages_left=snapshot.pages_left, bytes_sent=snapshot.bytes_sent, mbps=snapshot.mbps, throttle=snapshot.throttle,
        stats=pb.MigrationStats(rounds=snapshot.round + 1, bytes_sent=snapshot.bytes_sent, stun_time=snapshot.stun_time,
                                max_throttle=snapshot.throttle),
        error=fault_to_proto(snapshot.error) if snapshot.error else None,
    )
    if snapshot.result is not None:
        message.stats.CopyFrom(stats_of(snapshot))
    return message


def stats_of(snapshot: Snapshot) -> pb.MigrationStats:
    r = snapshot.result
    assert r is not None
    return pb.MigrationStats(rounds=r.rounds, bytes_sent=r.bytes_sent, pages_sent=r.pages_sent, zero_pages=r.zero_pages,
                             duration_ms=r.duration_s * 1e3, stun_time=snapshot.stun_time, encrypted=r.encrypted,
                             max_throttle=r.throttle, disk_bytes=r.disk_bytes)


def outcome(snapshot: Snapshot) -> pb.MigrationOutcome:
    message = pb.MigrationOutcome(migration_id=snapshot.migration_id, phase=_PHASES[snapshot.phase],
                                  resume_time=snapshot.resume_time,
                                  error=fault_to_proto(snapshot.error) if snapshot.error else None)
    if snapshot.result is not None:
        message.stats.CopyFrom(stats_of(snapshot))
        message.downtime_ms = snapshot.result.downtime_ms
    return message


def running_vm(vm: HostVm) -> pb.RunningVm:
    return pb.RunningVm(
        instance_uuid=vm.config.instance_uuid, name=vm.config.name,
        power_state=power_state_to_proto(vm.power_state), memory_mb=vm.config.memory_mb,
    )


def announcement(host: str, sent: Announcement) -> inventory_pb2.NetworkAnnouncement:
    return inventory_pb2.NetworkAnnouncement(time=sent.time, host=host, instance_uuid=sent.instance_uuid, vm_name=sent.vm_name,
                                             mac_address=sent.mac_address, migration_id=sent.migration_id, frame=sent.frame)


class HostAgentServicer(host_agent_pb2_grpc.HostAgentServicer):
    def __init__(self, host: HostState, migrations: HostMigrations) -> None:
        self.host = host
        self.migrations = migrations

    def GetAbout(self, request: pb.HostAboutRequest, context: grpc.ServicerContext) -> pb.HostAbout:
        h = self.host
        return pb.HostAbout(
            name=h.name, version=str(h.version), build=h.build, sso_domain=h.domain, managed_by=h.managed_by,
            capability=inventory_pb2.HostCapability(
                encrypted_vmotion_supported=h.encrypted_vmotion_supported, aes_ni=h.spec.aes_ni,
                max_concurrent_vmotions=h.max_concurrent_vmotions,
            ),
            vmotion=inventory_pb2.VMotionInterface(address=self.migrations.vmotion_address,
                                                   bandwidth=h.spec.vmotion.bandwidth),
            memory_mb=h.spec.memory_mb,
        )

    def RegisterVm(self, request: inventory_pb2.VmConfig, context: grpc.ServicerContext) -> pb.RunningVm:
        return running_vm(self.host.register(vm_config(request)))

    def RegisterVms(self, request: pb.RegisterVmsRequest, context: grpc.ServicerContext) -> pb.ListHostVmsResponse:
        vms = self.host.register_all([vm_config(vm) for vm in request.vms], set(request.power_on))
        return pb.ListHostVmsResponse(vms=[running_vm(vm) for vm in vms])

    def UnregisterVm(self, request: pb.VmRequest, context: grpc.ServicerContext) -> pb.UnregisterVmResponse:
        self.host.unregister(request.instance_uuid)
        return pb.UnregisterVmResponse()

    def PowerOnVm(self, request: pb.VmRequest, context: grpc.ServicerContext) -> pb.RunningVm:
        return running_vm(self.host.power_on(request.instance_uuid))

    def PowerOffVm(self, request: pb.VmRequest, context: grpc.ServicerContext) -> pb.RunningVm:
        return running_vm(self.host.power_off(request.instance_uuid))

    def ListVms(self, request: pb.ListHostVmsRequest, context: grpc.ServicerContext) -> pb.ListHostVmsResponse:
        return pb.ListHostVmsResponse(vms=[running_vm(vm) for vm in self.host.vms()])

    def Reset(self, request: pb.HostResetRequest, context: grpc.ServicerContext) -> pb.HostResetResponse:
        self.host.reset()
        return pb.HostResetResponse()

    # -- vMotion ---------------------------------------------------------------------------------

    @staticmethod
    def _settings(spec: pb.MigrationSpec) -> MigrationSettings:
        s = spec.settings
        return MigrationSettings(s.switchover_goal_seconds or 0.5, s.max_switchover_seconds or 100.0, s.bandwidth_limit_mbps)

    def PrepareDestination(self, request: pb.MigrationSpec, context: grpc.ServicerContext) -> pb.PrepareDestinationResponse:
        self.host.faults.at(MigrationStep.KEY_PUSH_DESTINATION, request.vm.name)
        migration_id, config, disks = request.migration_id, vm_config(request.vm), destination_disks(request)
        try:
            secrets = secrets_from_wire(migration_id, request.encrypted, request.key, request.nonce)
        except BaseException:
            wipe_all(d.vsan for d in disks)
            raise
        request.Clear()   # the keys are in `secrets` and the disks' vSAN layers now, and only there
        return pb.PrepareDestinationResponse(vmotion_address=self.migrations.prepare_destination(config, migration_id, secrets, disks))

    def PrepareSource(self, request: pb.PrepareSourceRequest, context: grpc.ServicerContext) -> pb.PrepareSourceResponse:
        self.host.faults.at(MigrationStep.KEY_PUSH_SOURCE, request.spec.vm.name)
        spec = request.spec
        config, settings, disks = vm_config(spec.vm), self._settings(spec), source_disks(spec)   # refused before any secret exists
        try:
            secrets = secrets_from_wire(spec.migration_id, spec.encrypted, spec.key, spec.nonce)
        except BaseException:
            wipe_all(d.vsan for d in disks)
            raise
        self.migrations.prepare_source(config, spec.migration_id, secrets, request.destination_vmotion_address, settings, disks)
        request.Clear()
        return pb.PrepareSourceResponse()

    def MigrateVm(self, request: pb.MigrationRef, context: grpc.ServicerContext) -> Iterator[pb.MigrationProgress]:
        for snapshot in self.migrations.migrate(request.migration_id, context.add_callback):
            yield progress(snapshot)

    def CompleteMigration(self, request: pb.MigrationRef, context: grpc.ServicerContext) -> pb.MigrationOutcome:
        return outcome(self.migrations.complete(request.migration_id, context.time_remaining()))

    def AbortMigration(self, request: pb.AbortMigrationRequest, context: grpc.ServicerContext) -> pb.MigrationOutcome:
        return outcome(self.migrations.abort(request.migration_id, request.reason))

    def ListMigrations(self, request: pb.ListMigrationsRequest, context: grpc.ServicerContext) -> pb.ListMigrationsResponse:
        return pb.ListMigrationsResponse(migrations=[progress(s) for s in self.migrations.snapshots()])

    # -- the guest's memory ----------------------------------------------------------------------

    def _memory_info(self, instance_uuid: str) -> inventory_pb2.GuestMemoryInfo:
        vm = self.host.vm(instance_uuid)
        guest = self.host.guest(instance_uuid)
        return inventory_pb2.GuestMemoryInfo(instance_uuid=instance_uuid, pages=guest.memory.page_count,
                                  written_pages=guest.memory.written_count(), digest=guest.memory.digest().hex(),
                                  power_state=power_state_to_proto(vm.power_state))

    def WriteGuestMemory(self, request: pb.WriteGuestMemoryRequest, context: grpc.ServicerContext) -> inventory_pb2.GuestMemoryInfo:
        guest = self.host.guest(request.instance_uuid)
        if not 0 <= request.random_fraction <= 1:
            raise InvalidArgument(f"random_fraction {request.random_fraction} is not between 0 and 1", argument="random_fraction")
        if request.random_fraction:
            guest.memory.fill_random(request.random_fraction)
        if request.HasField("marker_page"):
            if not request.marker:
                raise InvalidArgument("marker_page places a marker: give the marker", argument="marker_page")
            if not 0 <= request.marker_page < guest.memory.page_count:
                raise InvalidArgument(f"marker_page {request.marker_page} is not between 0 and {guest.memory.page_count - 1}",
                                      argument="marker_page")
            guest.memory.write_page(request.marker_page, request.marker)
        elif request.marker:
            guest.memory.write_marker(request.marker, request.marker_every_pages or 64)
        return self._memory_info(request.instance_uuid)

    def GetGuestMemory(self, request: pb.VmRequest, context: grpc.ServicerContext) -> inventory_pb2.GuestMemoryInfo:
        return self._memory_info(request.instance_uuid)

    def SetGuestWorkload(self, request: pb.SetHostGuestWorkloadRequest, context: grpc.ServicerContext) -> pb.RunningVm:
        vm = self.host.vm(request.instance_uuid)
        if self.migrations.leaving(request.instance_uuid):
            raise InvalidState(f"{vm.config.name} is migrating away from {self.host.name}: its guest changes after the move",
                               object=request.instance_uuid)
        return running_vm(self.host.set_workload(request.instance_uuid, request.workload.dirty_rate_mbps,
                                                 request.workload.working_set_mb))

    # -- the network and the counters -------------------------------------------------------------

    def ListAnnouncements(self, request: pb.ListAnnouncementsRequest, context: grpc.ServicerContext) -> pb.ListAnnouncementsResponse:
        return pb.ListAnnouncementsResponse(announcements=[announcement(self.host.name, a) for a in self.host.network.announcements()])

    def QueryVmStats(self, request: pb.QueryVmStatsRequest, context: grpc.ServicerContext) -> pb.QueryVmStatsResponse:
        response = pb.QueryVmStatsResponse()
        add = response.vms.add      # in place: a third less than building each VmStats and then the list
        for config, guest in self.host.running_guests():
            add(instance_uuid=config.instance_uuid, uptime_seconds=guest.uptime_seconds, cpu_seconds=guest.cpu_seconds,
                num_cpu=config.num_cpu, mem_consumed_kb=guest.mem_consumed_kb)
        return response

    # -- fault injection -------------------------------------------------------------------------

    def AddFaultRule(self, request: fault_rules_pb2.FaultRule, context: grpc.ServicerContext) -> fault_rules_pb2.FaultRule:
        return fault_rule_to_proto(self.host.faults.add(fault_rule_from_proto(request)))

    def ListFaultRules(self, request: fault_rules_pb2.ListFaultRulesRequest,
                       context: grpc.ServicerContext) -> fault_rules_pb2.ListFaultRulesResponse:
        return fault_rules_pb2.ListFaultRulesResponse(rules=[fault_rule_to_proto(r) for r in self.host.faults.rules()])

    def ClearFaultRules(self, request: fault_rules_pb2.ClearFaultRulesRequest,
                        context: grpc.ServicerContext) -> fault_rules_pb2.ClearFaultRulesResponse:
        return fault_rules_pb2.ClearFaultRulesResponse(cleared=self.host.faults.clear())

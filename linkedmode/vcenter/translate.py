"""Domain values of a vCenter to protos."""

from __future__ import annotations

import base64
from typing import cast

from ..migration.spec import SourceNetwork
from ..model.cpu import EvcBaseline
from ..model.events import Event
from ..model.faults import InvalidArgument
from ..model.inventory import (
    HOST_CONNECTED,
    HOST_DISCONNECTED,
    HOST_NOT_RESPONDING,
    Cluster,
    Datacenter,
    Datastore,
    Disk,
    Host,
    Network,
    Nic,
    Snapshot,
    Vm,
)
from ..model.migration import MigrationPhase, MigrationResult, MovePriority, StreamFigures
from ..model.tasks import BulkResult, CreatedResult, PowerResult, ReconfigureResult, Task, TaskResult
from ..rpc.convert import (
    migrate_encryption_from_proto,
    migrate_encryption_to_proto,
    power_state_from_proto,
    power_state_to_proto,
    task_state_to_proto,
    timestamp,
)
from ..rpc.faults import fault_to_proto
from ..v1 import common_pb2, host_agent_pb2, inventory_pb2

_CONNECTION = {
    HOST_CONNECTED: inventory_pb2.HOST_CONNECTION_STATE_CONNECTED,
    HOST_DISCONNECTED: inventory_pb2.HOST_CONNECTION_STATE_DISCONNECTED,
    HOST_NOT_RESPONDING: inventory_pb2.HOST_CONNECTION_STATE_NOT_RESPONDING,
}


def datacenter(dc: Datacenter) -> inventory_pb2.Datacenter:
    return inventory_pb2.Datacenter(moid=dc.moid, name=dc.name)


def cluster(c: Cluster) -> inventory_pb2.Cluster:
    return inventory_pb2.Cluster(moid=c.moid, name=c.name, datacenter=c.datacenter, hosts=c.hosts, current_evc_mode_key=c.evc_mode)


def host(h: Host, vms: list[str]) -> inventory_pb2.HostSystem:
    return inventory_pb2.HostSystem(
        moid=h.moid, name=h.name, version=h.version, cluster=h.cluster, datacenter=h.datacenter,
        capability=inventory_pb2.HostCapability(
            encrypted_vmotion_supported=h.encrypted_vmotion_supported, aes_ni=h.aes_ni,
            max_concurrent_vmotions=h.max_concurrent_vmotions,
        ),
        connection_state=_CONNECTION.get(h.connection_state, inventory_pb2.HOST_CONNECTION_STATE_UNSPECIFIED),
        memory_mb=h.memory_mb,
        vmotion=inventory_pb2.VMotionInterface(address=h.vmotion_address, bandwidth=h.vmotion_bandwidth),
        agent_address=h.agent_address, datastores=h.datastores, vms=vms,
        cpu_vendor=EvcBaseline.named(h.cpu).vendor, max_evc_mode_key=h.cpu, current_evc_mode_key=h.current_evc_mode_key,
        in_maintenance_mode=h.in_maintenance_mode,
    )


def datastore(d: Datastore) -> inventory_pb2.Datastore:
    return inventory_pb2.Datastore(moid=d.moid, name=d.name, type=d.type, encrypted=d.encrypted,
                                   key_provider=d.key_provider, key_id=d.key_id,
                                   datacenter=d.datacenter, capacity_mb=d.capacity_mb, hosts=d.hosts)


def network(n: Network) -> inventory_pb2.Network:
    return inventory_pb2.Network(moid=n.moid, name=n.name, datacenter=n.datacenter, switch_type=n.switch_type, switch=n.switch,
                                 switch_version=n.switch_version, uplinks=n.uplinks)


def source_network(n: SourceNetwork) -> inventory_pb2.Network:
    return inventory_pb2.Network(name=n.name, switch_type=n.switch_type, switch_version=n.switch_version)


def source_network_from_proto(n: inventory_pb2.Network) -> SourceNetwork:
    return SourceNetwork(n.name, n.switch_type or SourceNetwork.switch_type, n.switch_version)


def vm(v: Vm) -> inventory_pb2.VirtualMachine:
    return inventory_pb2.VirtualMachine(
        moid=v.moid, name=v.name, instance_uuid=v.instance_uuid, bios_uuid=v.bios_uuid,
        memory_mb=v.memory_mb, num_cpu=v.num_cpu, power_state=power_state_to_proto(v.power_state),
        migrate_encryption=migrate_encryption_to_proto(v.migrate_encryption),
        crypto=inventory_pb2.CryptoState(encrypted=v.encrypted, key_provider=v.key_provider, key_id=v.key_id,
                                         key_safe=base64.b64decode(v.key_safe)),
        host=v.host, datacenter=v.datacenter,
        disks=[inventory_pb2.VirtualDisk(label=d.label, datastore=d.datastore, capacity_mb=d.capacity_mb, encrypted=d.encrypted)
               for d in v.disks],
        nics=[inventory_pb2.VirtualEthernetCard(label=n.label, mac_address=n.mac_address, network=n.network) for n in v.nics],
        workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=v.dirty_rate_mbps, working_set_mb=v.working_set_mb),
        extra_config=v.extra_config,
        snapshots=[snapshot(s) for s in v.snapshots], has_snapshots=v.has_snapshots,
        min_required_evc_mode_key=v.min_required_evc_mode_key,
    )


def snapshot(s: Snapshot) -> inventory_pb2.VirtualMachineSnapshot:
    return inventory_pb2.VirtualMachineSnapshot(id=s.id, name=s.name, description=s.description, create_time=timestamp(s.create_time))


def task(t: Task) -> common_pb2.Task:
    return common_pb2.Task(
        key=t.key, description_id=t.description_id, entity=t.entity, entity_name=t.entity_name,
        state=task_state_to_proto(t.state), progress=t.progress, progress_detail=t.progress_detail,
        cancelable=t.cancelable, cancelled=t.cancelled,
        error=fault_to_proto(t.error) if t.error else None, user=t.user,
        queue_time=timestamp(t.queue_time), start_time=timestamp(t.start_time), complete_time=timestamp(t.complete_time),
        **task_result(t.result),  # type: ignore[arg-type]  # one member of the `result` oneof, typed above
    )


def event(e: Event) -> common_pb2.Event:
    return common_pb2.Event(
        key=e.key, type=e.type, created_time=timestamp(e.created_time), user=e.user, vm=e.vm, vm_name=e.vm_name,
        host=e.host, datacenter=e.datacenter, message=e.message, arguments=e.arguments, task=e.task, chain_id=e.chain_id,
    )


def vm_from_proto(v: inventory_pb2.VirtualMachine) -> Vm:
    """A VM as another vCenter described it (its moids are that vCenter's)."""
    return Vm(
        moid=v.moid, name=v.name, instance_uuid=v.instance_uuid, bios_uuid=v.bios_uuid, memory_mb=v.memory_mb,
        num_cpu=v.num_cpu, power_state=power_state_from_proto(v.power_state),
        migrate_encryption=migrate_encryption_from_proto(v.migrate_encryption), encrypted=v.crypto.encrypted,
        key_provider=v.crypto.key_provider, key_id=v.crypto.key_id, key_safe=base64.b64encode(v.crypto.key_safe).decode(),
        host=v.host, datacenter=v.datacenter,
        disks=[Disk(d.label, d.datastore, d.capacity_mb, d.encrypted) for d in v.disks],
        nics=[Nic(n.label, n.mac_address, n.network) for n in v.nics],
        dirty_rate_mbps=v.workload.dirty_rate_mbps, working_set_mb=v.workload.working_set_mb,
        extra_config=dict(v.extra_config),
        snapshots=[Snapshot(s.id, s.name, s.description, s.create_time.ToNanoseconds() / 1e9) for s in v.snapshots],
        min_required_evc_mode_key=v.min_required_evc_mode_key,
    )


_PRIORITY: dict[int, MovePriority] = {
    common_pb2.MOVE_PRIORITY_UNSPECIFIED: MovePriority.DEFAULT, common_pb2.MOVE_PRIORITY_DEFAULT: MovePriority.DEFAULT,
    common_pb2.MOVE_PRIORITY_HIGH: MovePriority.HIGH, common_pb2.MOVE_PRIORITY_LOW: MovePriority.LOW,
}


def priority_from_proto(priority: int) -> MovePriority:
    if priority not in _PRIORITY:
        raise InvalidArgument(f"priority {priority} is not one of MOVE_PRIORITY_DEFAULT, MOVE_PRIORITY_HIGH, MOVE_PRIORITY_LOW",
                              argument="priority")
    return _PRIORITY[priority]


def priority_to_proto(priority: MovePriority) -> common_pb2.MovePriority:
    wire = next(k for k, v in _PRIORITY.items() if v == priority and k != common_pb2.MOVE_PRIORITY_UNSPECIFIED)
    return cast(common_pb2.MovePriority, wire)


def phase_from_proto(phase: int) -> MigrationPhase:
    if phase == host_agent_pb2.MIGRATION_PHASE_UNSPECIFIED:
        return MigrationPhase.UNKNOWN
    return MigrationPhase[host_agent_pb2.MigrationPhase.Name(phase).removeprefix("MIGRATION_PHASE_")]


def phase_to_proto(phase: MigrationPhase) -> host_agent_pb2.MigrationPhase:
    if phase == MigrationPhase.UNKNOWN:
        return host_agent_pb2.MIGRATION_PHASE_UNSPECIFIED
    return cast(host_agent_pb2.MigrationPhase, host_agent_pb2.MigrationPhase.Value(f"MIGRATION_PHASE_{phase.name}"))


def stream_figures(outcome: host_agent_pb2.MigrationOutcome) -> StreamFigures:
    stats = outcome.stats
    return StreamFigures(encrypted=stats.encrypted, rounds=stats.rounds, bytes_sent=stats.bytes_sent,
                         pages_sent=stats.pages_sent, zero_pages=stats.zero_pages, duration_ms=stats.duration_ms,
                         max_throttle=stats.max_throttle, downtime_ms=outcome.downtime_ms, disk_bytes=stats.disk_bytes)


def migration_result(result: MigrationResult) -> common_pb2.MigrationResult:
    stream = None
    if result.stream is not None:
        f = result.stream
        stream = common_pb2.MigrationStreamFigures(
            encrypted=f.encrypted, rounds=f.rounds, bytes_sent=f.bytes_sent, pages_sent=f.pages_sent,
            zero_pages=f.zero_pages, duration_ms=f.duration_ms, mbps=f.mbps, max_throttle=f.max_throttle,
            downtime_ms=f.downtime_ms, disk_bytes=f.disk_bytes)
    return common_pb2.MigrationResult(
        vm=result.vm, vcenter=result.vcenter, host=result.host, mode_asked=migrate_encryption_to_proto(result.mode_asked),
        encrypted=result.encrypted, fell_back=result.fell_back, reason=result.reason, hot=result.hot,
        migration_id=result.migration_id, disks_moved=result.disks_moved, queued_ms=result.queued_ms, stream=stream,
        settled=result.settled)


def task_result(result: TaskResult | None) -> dict[str, object]:
    """The Task proto's `result` oneof, as keyword arguments."""
    if isinstance(result, BulkResult):
        outcomes = [common_pb2.VmOutcome(vm=o.vm, name=o.name, succeeded=o.succeeded, task=o.task,
                                         fault=fault_to_proto(o.fault) if o.fault else None,
                                         migration=migration_result(o.migration) if o.migration else None)
                    for o in result.outcomes]
        return {"bulk": common_pb2.BulkResult(vms=outcomes, succeeded=len(outcomes) - result.failed, failed=result.failed)}
    if isinstance(result, MigrationResult):
        return {"migration": migration_result(result)}
    if isinstance(result, PowerResult):
        return {"power": common_pb2.PowerResult(power_state=power_state_to_proto(result.power_state), host=result.host)}
    if isinstance(result, ReconfigureResult):
        return {"reconfigure": common_pb2.ReconfigureResult(changed=list(result.changed))}
    if isinstance(result, CreatedResult):
        return {"created": common_pb2.ObjectRef(moid=result.moid, name=result.name)}
    return {}


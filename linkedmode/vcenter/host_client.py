"""How a vCenter speaks to the hosts it manages: HostAgent over mutual TLS, errors as Faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from ..crypto.identity import Identity
from ..crypto.pki import Credential
from ..crypto.secrets import secrets_from_wire
from ..migration.spec import DiskMove, HostOutcome, HostProgress, MigrationSpec
from ..model.fault_rules import FaultRule
from ..model.faults import HostNotConnected, PeerUnreachable
from ..model.inventory import Host, Vm
from ..model.migration import MigrationPhase
from ..model.settings import PowerState
from ..rpc.convert import fault_rule_to_proto, power_state_from_proto
from ..rpc.faults import fault_from_error, fault_from_proto
from ..rpc.tls import secure_channel
from ..v1 import fault_rules_pb2, host_agent_pb2_grpc, inventory_pb2
from ..v1 import host_agent_pb2 as pb
from .perf_history import VmCounters
from .translate import phase_from_proto, stream_figures

CALL_TIMEOUT = 10.0
REGISTER_BATCH = 512              # VMs per RegisterVms call: within the listener's MAX_ITEMS per list

R = TypeVar("R")


def spec_to_proto(spec: MigrationSpec) -> pb.MigrationSpec:
    """The one place a migration key enters a proto. Whoever sends it clears it right after (`sent`)."""
    proto = pb.MigrationSpec(
        migration_id=spec.migration_id, vm=vm_config(spec.vm), encrypted=spec.encrypted, source_host=spec.source_host,
        destination_host=spec.destination_host,
        settings=pb.MigrationSettings(switchover_goal_seconds=spec.switchover_goal_seconds,
                                      max_switchover_seconds=spec.max_switchover_seconds),
        disk_moves=[pb.DiskMove(label=m.label, capacity_mb=m.capacity_mb, source_path=m.source_path,
                                destination_path=m.destination_path, source_key=m.source_key,
                                destination_key=m.destination_key) for m in spec.disk_moves],
    )
    if spec.secrets is not None:
        # protobuf takes only bytes: an immutable copy that can be dropped, not wiped (crypto/secrets.py)
        proto.key, proto.nonce = bytes(spec.secrets.key), bytes(spec.secrets.nonce_bytes)
    return proto


def spec_from_proto(proto: pb.MigrationSpec, vm: Vm) -> MigrationSpec:
    """A spec that came over LinkedMode, the key taken into MigrationSecrets and the proto cleared (`sent`)."""
    with sent(proto):
        secrets = secrets_from_wire(proto.migration_id, proto.encrypted, proto.key, proto.nonce)
        return MigrationSpec(
            proto.migration_id, vm, proto.source_host, proto.destination_host, proto.settings.switchover_goal_seconds,
            proto.settings.max_switchover_seconds, secrets,
            tuple(DiskMove(m.label, m.capacity_mb, m.source_path, m.destination_path) for m in proto.disk_moves))


@contextmanager
def sent(message: Message) -> Iterator[Message]:
    """A message that holds a key, cleared as soon as the call that sends it (or the code that reads it)
    returns or fails: the one place a vCenter clears a proto that held a key."""
    try:
        yield message
    finally:
        message.Clear()


def vm_config(vm: Vm) -> inventory_pb2.VmConfig:
    return inventory_pb2.VmConfig(
        instance_uuid=vm.instance_uuid, name=vm.name, memory_mb=vm.memory_mb, num_cpu=vm.num_cpu,
        workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=vm.dirty_rate_mbps, working_set_mb=vm.working_set_mb),
        mac_addresses=vm.mac_addresses, encrypted=vm.encrypted,
    )


class HostAgentClient:
    def __init__(self, host: Host, stub: host_agent_pb2_grpc.HostAgentStub, call_timeout: float = CALL_TIMEOUT) -> None:
        self.host = host
        self._stub = stub
        self._call_timeout = call_timeout

    def _call(self, call: Callable[..., R], request: Any, timeout: float | None = None) -> R:
        try:
            return call(request, timeout=timeout or self._call_timeout)
        except grpc.RpcError as error:
            raise self._fault(error) from None

    def _fault(self, error: grpc.RpcError) -> Exception:
        fault = fault_from_error(error)
        if isinstance(fault, PeerUnreachable):
            return HostNotConnected(f"host {self.host.name} does not answer: {fault.message}", object=self.host.moid)
        return fault

    def about(self, timeout: float | None = None) -> pb.HostAbout:
        return self._call(self._stub.GetAbout, pb.HostAboutRequest(), timeout)

    def register(self, vm: Vm) -> pb.RunningVm:
        return self._call(self._stub.RegisterVm, vm_config(vm))

    def register_all(self, vms: list[Vm], power_on: list[Vm]) -> None:
        """Registers ``vms`` and powers on those of ``power_on`` not running yet, a batch per call (a
        listener takes at most MAX_ITEMS entries of a list)."""
        starting = {vm.instance_uuid for vm in power_on}
        for first in range(0, len(vms), REGISTER_BATCH):
            batch = vms[first:first + REGISTER_BATCH]
            self._call(self._stub.RegisterVms, pb.RegisterVmsRequest(
                vms=[vm_config(vm) for vm in batch], power_on=[vm.instance_uuid for vm in batch if vm.instance_uuid in starting]),
                max(self._call_timeout, 60.0))

    def unregister(self, vm: Vm) -> None:
        self._call(self._stub.UnregisterVm, pb.VmRequest(instance_uuid=vm.instance_uuid))

    def power_on(self, vm: Vm) -> pb.RunningVm:
        return self._call(self._stub.PowerOnVm, pb.VmRequest(instance_uuid=vm.instance_uuid))

    def power_off(self, vm: Vm) -> pb.RunningVm:
        return self._call(self._stub.PowerOffVm, pb.VmRequest(instance_uuid=vm.instance_uuid))

    def running(self) -> dict[str, PowerState]:
        """instance UUID -> power state of every VM the host holds."""
        vms = self._call(self._stub.ListVms, pb.ListHostVmsRequest()).vms
        return {vm.instance_uuid: power_state_from_proto(vm.power_state) for vm in vms}

    def reset(self) -> None:
        self._call(self._stub.Reset, pb.HostResetRequest())

    def vm_stats(self, timeout: float | None = None) -> list[VmCounters]:
        """The counters of every VM that runs on the host."""
        return _counters(self._call(self._stub.QueryVmStats, pb.QueryVmStatsRequest(), timeout))

    def vm_stats_later(self, timeout: float, answered: Callable[[list[VmCounters] | Exception], None]) -> None:
        """Asks for the counters without waiting for them: `answered` gets them, or the fault that came
        instead, on a thread of grpc's."""
        def done(future: Any) -> None:
            try:
                reply = future.result()
            except grpc.RpcError as error:
                answered(self._fault(error))
                return
            answered(_counters(reply))

        self._stub.QueryVmStats.future(pb.QueryVmStatsRequest(), timeout=timeout).add_done_callback(done)

    def announcements(self) -> list[inventory_pb2.NetworkAnnouncement]:
        """What the host sent on its physical network for its VMs (RARP after vMotion), oldest first."""
        return list(self._call(self._stub.ListAnnouncements, pb.ListAnnouncementsRequest()).announcements)

    def write_guest_memory(self, vm: Vm, *, random_fraction: float = 0.0, marker: bytes = b"",
                           every_pages: int = 0, page: int | None = None) -> inventory_pb2.GuestMemoryInfo:
        return self._call(self._stub.WriteGuestMemory, pb.WriteGuestMemoryRequest(
            instance_uuid=vm.instance_uuid, random_fraction=random_fraction, marker=marker, marker_every_pages=every_pages,
            marker_page=page), timeout=120)

    def set_guest_workload(self, vm: Vm) -> pb.RunningVm:
        """The VM's dirty rate and working set, as the inventory has them, into the host's config and running guest."""
        return self._call(self._stub.SetGuestWorkload, pb.SetHostGuestWorkloadRequest(
            instance_uuid=vm.instance_uuid,
            workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=vm.dirty_rate_mbps, working_set_mb=vm.working_set_mb)))

    def guest_memory(self, vm: Vm) -> inventory_pb2.GuestMemoryInfo:
        return self._call(self._stub.GetGuestMemory, pb.VmRequest(instance_uuid=vm.instance_uuid), timeout=60)

    # -- fault injection -------------------------------------------------------------------------

    def add_fault_rule(self, rule: FaultRule) -> fault_rules_pb2.FaultRule:
        return self._call(self._stub.AddFaultRule, fault_rule_to_proto(rule))

    def fault_rules(self) -> list[fault_rules_pb2.FaultRule]:
        return list(self._call(self._stub.ListFaultRules, fault_rules_pb2.ListFaultRulesRequest()).rules)

    def clear_fault_rules(self) -> int:
        return self._call(self._stub.ClearFaultRules, fault_rules_pb2.ClearFaultRulesRequest()).cleared

    # -- vMotion ---------------------------------------------------------------------------------

    def prepare_destination(self, spec: MigrationSpec) -> str:
        with sent(spec_to_proto(spec)) as request:
            return str(self._call(self._stub.PrepareDestination, request).vmotion_address)

    def prepare_source(self, spec: MigrationSpec, destination_vmotion_address: str) -> None:
        with sent(pb.PrepareSourceRequest(spec=spec_to_proto(spec), destination_vmotion_address=destination_vmotion_address)) as request:
            self._call(self._stub.PrepareSource, request)

    def migrate(self, migration_id: int, timeout: float) -> Iterator[HostProgress]:
        """The source host's progress, ending with READY (or a FAILED phase)."""
        try:
            for p in self._stub.MigrateVm(pb.MigrationRef(migration_id=migration_id), timeout=timeout):
                yield HostProgress(p.migration_id, phase_from_proto(p.phase), p.round, p.pages_left, p.mbps, p.throttle,
                                   fault_from_proto(p.error) if p.HasField("error") else None)
        except grpc.RpcError as error:
            raise self._fault(error) from None

    def complete(self, migration_id: int, timeout: float | None = None) -> HostOutcome:
        return self._outcome(self._call(self._stub.CompleteMigration, pb.MigrationRef(migration_id=migration_id), timeout))

    def migrations(self) -> dict[int, MigrationPhase]:
        """Every migration the host takes part in, by id, with its phase."""
        migrations = self._call(self._stub.ListMigrations, pb.ListMigrationsRequest()).migrations
        return {m.migration_id: phase_from_proto(m.phase) for m in migrations}

    def abort(self, migration_id: int, reason: str) -> HostOutcome:
        return self._outcome(self._call(self._stub.AbortMigration, pb.AbortMigrationRequest(migration_id=migration_id, reason=reason)))

    @staticmethod
    def _outcome(outcome: pb.MigrationOutcome) -> HostOutcome:
        phase = phase_from_proto(outcome.phase)
        return HostOutcome(phase, stream_figures(outcome) if phase == MigrationPhase.COMPLETED and outcome.HasField("stats") else None,
                           fault_from_proto(outcome.error) if outcome.HasField("error") else None)


class HostConnections:
    """One channel per managed host, made on first use, remade when the host's address changes."""

    def __init__(self, credential: Credential, call_timeout: float = CALL_TIMEOUT) -> None:
        self._credential = credential
        self._call_timeout = call_timeout
        self._channels: dict[str, tuple[str, grpc.Channel, host_agent_pb2_grpc.HostAgentStub]] = {}
        self._lock = threading.Lock()
        self._gone = False

    def agent(self, host: Host) -> HostAgentClient:
        if self._gone:
            raise HostNotConnected(f"this vCenter is down: it cannot reach host {host.name}", object=host.moid)
        if not host.agent_address:
            raise HostNotConnected(f"host {host.name} has no management address", object=host.moid)
        with self._lock:
            known = self._channels.get(host.name)
            if known is None or known[0] != host.agent_address:
                # the old channel is left to the garbage collector: calls still on it finish or fail alone
                server = Identity(self._credential.identity.domain, "host", host.name)
                channel = secure_channel(host.agent_address, self._credential, server)
                # the stub made once with its channel: making one binds each of its methods (0.1 ms a call)
                known = (host.agent_address, channel, host_agent_pb2_grpc.HostAgentStub(channel))
                self._channels[host.name] = known
        return HostAgentClient(host, known[2], self._call_timeout)

    def close(self, for_good: bool = False) -> None:
        with self._lock:
            self._gone = self._gone or for_good
            for _, channel, _ in self._channels.values():
                channel.close()
            self._channels.clear()


def _counters(reply: pb.QueryVmStatsResponse) -> list[VmCounters]:
    return [VmCounters(vm.instance_uuid, vm.uptime_seconds, vm.cpu_seconds, vm.num_cpu, vm.mem_consumed_kb) for vm in reply.vms]

"""How a vCenter speaks to the hosts it manages: HostAgent over mutual TLS, errors as Faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from ..crypto.identity import Identity
from ..crypto.pki import Credential
from ..model.fault_rules import FaultRule
from ..model.faults import HostCommunication, HostNotConnected
from ..model.inventory import Host, Vm
from ..model.settings import PowerState
from ..rpc.convert import fault_rule_to_proto, power_state_from_proto
from ..rpc.faults import fault_from_error
from ..rpc.tls import secure_channel
from ..v1 import fault_rules_pb2, host_agent_pb2_grpc, inventory_pb2
from ..v1 import host_agent_pb2 as pb

CALL_TIMEOUT = 10.0


def vm_config(vm: Vm) -> inventory_pb2.VmConfig:
    return inventory_pb2.VmConfig(
        instance_uuid=vm.instance_uuid, name=vm.name, memory_mb=vm.memory_mb, num_cpu=vm.num_cpu,
        workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=vm.dirty_rate_mbps, working_set_mb=vm.working_set_mb),
        mac_addresses=vm.mac_addresses, encrypted=vm.encrypted,
    )


class HostAgentClient:
    def __init__(self, host: Host, stub: host_agent_pb2_grpc.HostAgentStub) -> None:
        self.host = host
        self._stub = stub

    def _call(self, method: str, request, timeout: float = CALL_TIMEOUT):  # type: ignore[no-untyped-def]
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as error:
            raise self._fault(error) from None

    def _fault(self, error: grpc.RpcError) -> Exception:
        fault = fault_from_error(error)
        if isinstance(fault, HostCommunication) and fault.arguments.get("transport") == "unreachable":
            return HostNotConnected(f"host {self.host.name} does not answer: {fault.message}", object=self.host.moid)
        return fault

    def about(self, timeout: float = CALL_TIMEOUT) -> pb.HostAbout:
        return self._call("GetAbout", pb.HostAboutRequest(), timeout)

    def register(self, vm: Vm) -> pb.RunningVm:
        return self._call("RegisterVm", vm_config(vm))

    def unregister(self, vm: Vm) -> None:
        self._call("UnregisterVm", pb.VmRequest(instance_uuid=vm.instance_uuid))

    def power_on(self, vm: Vm) -> pb.RunningVm:
        return self._call("PowerOnVm", pb.VmRequest(instance_uuid=vm.instance_uuid))

    def power_off(self, vm: Vm) -> pb.RunningVm:
        return self._call("PowerOffVm", pb.VmRequest(instance_uuid=vm.instance_uuid))

    def running(self) -> dict[str, PowerState]:
        """instance UUID -> power state of every VM the host holds."""
        return {vm.instance_uuid: power_state_from_proto(vm.power_state) for vm in self._call("ListVms", pb.ListHostVmsRequest()).vms}

    def reset(self) -> None:
        self._call("Reset", pb.HostResetRequest())

    def write_guest_memory(self, vm: Vm, *, random_fraction: float = 0.0, marker: bytes = b"",
                           every_pages: int = 0) -> pb.GuestMemoryInfo:
        return self._call("WriteGuestMemory", pb.WriteGuestMemoryRequest(
            instance_uuid=vm.instance_uuid, random_fraction=random_fraction, marker=marker, marker_every_pages=every_pages),
            timeout=120)

    def guest_memory(self, vm: Vm) -> pb.GuestMemoryInfo:
        return self._call("GetGuestMemory", pb.VmRequest(instance_uuid=vm.instance_uuid), timeout=60)

    # -- fault injection -------------------------------------------------------------------------

    def add_fault_rule(self, rule: FaultRule) -> fault_rules_pb2.FaultRule:
        return self._call("AddFaultRule", fault_rule_to_proto(rule))

    def fault_rules(self) -> list[fault_rules_pb2.FaultRule]:
        return list(self._call("ListFaultRules", fault_rules_pb2.ListFaultRulesRequest()).rules)

    def clear_fault_rules(self) -> int:
        return self._call("ClearFaultRules", fault_rules_pb2.ClearFaultRulesRequest()).cleared

    # -- vMotion ---------------------------------------------------------------------------------

    def prepare_destination(self, spec: pb.MigrationSpec) -> str:
        return self._call("PrepareDestination", spec).vmotion_address

    def prepare_source(self, spec: pb.MigrationSpec, destination_vmotion_address: str) -> None:
        self._call("PrepareSource", pb.PrepareSourceRequest(spec=spec, destination_vmotion_address=destination_vmotion_address))

    def migrate(self, migration_id: int, timeout: float) -> Iterator[pb.MigrationProgress]:
        """The source host's progress, ending with READY (or a FAILED phase) ."""
        try:
            yield from self._stub.MigrateVm(pb.MigrationRef(migration_id=migration_id), timeout=timeout)
        except grpc.RpcError as error:
            raise self._fault(error) from None

    def complete(self, migration_id: int, timeout: float = CALL_TIMEOUT) -> pb.MigrationOutcome:
        return self._call("CompleteMigration", pb.MigrationRef(migration_id=migration_id), timeout)

    def migrations(self) -> list[pb.MigrationProgress]:
        return list(self._call("ListMigrations", pb.ListMigrationsRequest()).migrations)

    def abort(self, migration_id: int, reason: str) -> pb.MigrationOutcome:
        return self._call("AbortMigration", pb.AbortMigrationRequest(migration_id=migration_id, reason=reason))


class HostConnections:
    """One channel per managed host, made on first use, remade when the host's address changes."""

    def __init__(self, credential: Credential) -> None:
        self._credential = credential
        self._channels: dict[str, tuple[str, grpc.Channel]] = {}
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
                known = (host.agent_address, secure_channel(host.agent_address, self._credential, server))
                self._channels[host.name] = known
        return HostAgentClient(host, host_agent_pb2_grpc.HostAgentStub(known[1]))

    def close(self, for_good: bool = False) -> None:
        with self._lock:
            self._gone = self._gone or for_good
            for _, channel in self._channels.values():
                channel.close()
            self._channels.clear()




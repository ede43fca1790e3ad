"""LinkedMode (the peer API between the vCenters of one SSO domain) and Emulator (administration)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import grpc

from ..migration.spec import Arrival, MigrationTarget
from ..model.faults import HostNotConnected, InvalidArgument
from ..model.inventory import Datacenter, Host, Vm
from ..model.validation import whole_number
from ..rpc.auth import current_principal
from ..rpc.convert import fault_rule_from_proto, fault_rule_to_proto
from ..v1 import (
    common_pb2,
    emulator_pb2,
    emulator_pb2_grpc,
    fault_rules_pb2,
    host_agent_pb2,
    inventory_pb2,
    linked_mode_pb2,
    linked_mode_pb2_grpc,
)
from . import translate
from .guest_control import MemoryWrite
from .host_client import HostAgentClient, sent, spec_from_proto
from .peer_capacity import candidates_to_proto, local_candidates
from .peers import PeerInfo
from .vcenter import VCenter

T = TypeVar("T")


def peer_to_proto(peer: PeerInfo) -> linked_mode_pb2.PeerInfo:
    return linked_mode_pb2.PeerInfo(
        name=peer.name,
        instance_uuid=peer.instance_uuid,
        version=peer.version,
        sso_domain=peer.sso_domain,
        url=peer.url,
        thumbprint=peer.thumbprint,
    )


class LinkedModeServicer(linked_mode_pb2_grpc.LinkedModeServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    def Hello(self, request: linked_mode_pb2.PeerInfo, context: grpc.ServicerContext) -> linked_mode_pb2.PeerInfo:
        caller = current_principal()
        if request.name != caller.name:
            raise InvalidArgument(f"{caller} cannot introduce itself as {request.name!r}", argument="name")
        peer = PeerInfo(request.name, request.instance_uuid, request.version, caller.domain, request.url, request.thumbprint)
        self.vc.add_peer(peer.check())
        return peer_to_proto(self.vc.me_as_peer())

    def ListPeers(self, request: linked_mode_pb2.ListPeersRequest, context: grpc.ServicerContext) -> linked_mode_pb2.ListPeersResponse:
        return linked_mode_pb2.ListPeersResponse(peers=[peer_to_proto(p) for p in self.vc.peers()])

    def ListHostCapacity(self, request: linked_mode_pb2.ListHostCapacityRequest,
                         context: grpc.ServicerContext) -> linked_mode_pb2.ListHostCapacityResponse:
        state = self.vc.state
        hosts = {h.name: translate.host(h, []) for h in state.all(Host)}
        return candidates_to_proto(local_candidates(state, self.vc.arrivals.pending()), hosts)

    # -- cross-vCenter vMotion, this vCenter being the destination -------------------------------

    def _arrival(self, request: linked_mode_pb2.IncomingMigrationRequest) -> tuple[Arrival, MigrationTarget]:
        caller = current_principal()
        if caller.kind == "user":   # a vCenter of another SSO domain, logged in as this user (row X7)
            if request.source_vcenter in {self.vc.name, *(p.name for p in self.vc.peers())}:
                raise InvalidArgument(f"{caller} cannot migrate on behalf of {request.source_vcenter!r}, a vCenter of "
                                      f"{self.vc.domain}", argument="source_vcenter")
        elif request.source_vcenter != caller.name:
            raise InvalidArgument(f"{caller} cannot migrate on behalf of {request.source_vcenter!r}", argument="source_vcenter")
        arrival = Arrival(
            translate.vm_from_proto(request.vm),
            request.source_vcenter,
            request.source_host,
            tuple(request.disk_datastores),
            tuple(request.nic_networks),
            request.hot,
            request.encrypted,
            tuple(request.disk_paths),
            whole_number("chain_id", request.chain_id, 0, 2**63 - 1),
            nic_sources=tuple(translate.source_network_from_proto(n) for n in request.nic_source_networks),
            user=caller.name if caller.kind == "user" else "",
        )
        return arrival, MigrationTarget(request.host, request.datastore, request.pool)

    def CheckMigration(
        self, request: linked_mode_pb2.IncomingMigrationRequest, context: grpc.ServicerContext
    ) -> linked_mode_pb2.CheckMigrationResponse:
        host, _ = self.vc.arrivals.check(*self._arrival(request))
        return linked_mode_pb2.CheckMigrationResponse(
            host=translate.host(host, []), datacenter=self.vc.state.get(host.datacenter, Datacenter).name
        )

    def ReserveMigration(
        self, request: linked_mode_pb2.IncomingMigrationRequest, context: grpc.ServicerContext
    ) -> linked_mode_pb2.ReserveMigrationResponse:
        arrival, target = self._arrival(request)
        priority = translate.priority_from_proto(request.priority)
        return linked_mode_pb2.ReserveMigrationResponse(reserved=self.vc.arrivals.reserve(request.migration_id, arrival, target,
                                                                                          priority))

    def PrepareMigration(
        self, request: linked_mode_pb2.IncomingMigrationRequest, context: grpc.ServicerContext
    ) -> linked_mode_pb2.PrepareMigrationResponse:
        with sent(request):  # the key leaves the request here, whatever happens; it lives on in the spec only
            migration_id = request.migration_id
            arrival, _ = self._arrival(request)
            spec = spec_from_proto(request.spec, arrival.vm) if request.HasField("spec") else None
            disk_keys = tuple(request.disk_vsan_keys)
        try:
            address = self.vc.arrivals.prepare(migration_id, spec, disk_keys)
        finally:
            if spec is not None:
                spec.wipe()
        return linked_mode_pb2.PrepareMigrationResponse(vmotion_address=address)

    def CommitMigration(
        self, request: host_agent_pb2.MigrationRef, context: grpc.ServicerContext
    ) -> linked_mode_pb2.CommitMigrationResponse:
        return linked_mode_pb2.CommitMigrationResponse(vm=self.vc.arrivals.commit(request.migration_id))

    def FinishMigration(
        self, request: linked_mode_pb2.FinishMigrationRequest, context: grpc.ServicerContext
    ) -> linked_mode_pb2.CommitMigrationResponse:
        return linked_mode_pb2.CommitMigrationResponse(vm=self.vc.arrivals.finish(request.migration_id, request.restart).moid)

    def GetArrivalState(
        self, request: linked_mode_pb2.ArrivalStateRequest, context: grpc.ServicerContext
    ) -> linked_mode_pb2.ArrivalStateResponse:
        phase, runs = self.vc.arrivals.state_of(request.migration_id, request.instance_uuid, request.host, cross=True)
        return linked_mode_pb2.ArrivalStateResponse(phase=translate.phase_to_proto(phase), host_runs_vm=runs)

    def AbortMigration(
        self, request: host_agent_pb2.AbortMigrationRequest, context: grpc.ServicerContext
    ) -> linked_mode_pb2.AbortMigrationResponse:
        self.vc.arrivals.abort(request.migration_id, request.reason)
        return linked_mode_pb2.AbortMigrationResponse()


class EmulatorServicer(emulator_pb2_grpc.EmulatorServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    def Reset(self, request: emulator_pb2.ResetRequest, context: grpc.ServicerContext) -> emulator_pb2.ResetResponse:
        return emulator_pb2.ResetResponse(vms=self.vc.reset())

    def AddFaultRule(self, request: fault_rules_pb2.FaultRule, context: grpc.ServicerContext) -> fault_rules_pb2.AddFaultRuleResponse:
        return fault_rules_pb2.AddFaultRuleResponse(rules=self.vc.add_fault_rule(fault_rule_from_proto(request)))

    def _on_hosts(self, call: Callable[[HostAgentClient], T]) -> list[T]:
        """`call(agent)` on every host that answers; a host that is down has lost its rules anyway."""
        answers = []
        for host in self.vc.state.all(Host):
            try:
                answers.append(call(self.vc.hosts.agent(host)))
            except HostNotConnected:
                continue
        return answers

    def ListFaultRules(
        self, request: fault_rules_pb2.ListFaultRulesRequest, context: grpc.ServicerContext
    ) -> fault_rules_pb2.ListFaultRulesResponse:
        rules = [fault_rule_to_proto(r) for r in self.vc.faults.rules()]
        for host_rules in self._on_hosts(lambda agent: agent.fault_rules()):
            rules += host_rules
        return fault_rules_pb2.ListFaultRulesResponse(rules=rules)

    def ClearFaultRules(
        self, request: fault_rules_pb2.ClearFaultRulesRequest, context: grpc.ServicerContext
    ) -> fault_rules_pb2.ClearFaultRulesResponse:
        cleared = self.vc.faults.clear() + sum(self._on_hosts(lambda agent: agent.clear_fault_rules()))
        return fault_rules_pb2.ClearFaultRulesResponse(cleared=cleared)

    # -- guest control ---------------------------------------------------------------------------

    def _vm(self, ref: common_pb2.ObjectRef) -> Vm:
        return self.vc.state.find(Vm, moid=ref.moid, name=ref.name)

    def SetGuestWorkload(self, request: emulator_pb2.SetGuestWorkloadRequest,
                         context: grpc.ServicerContext) -> inventory_pb2.VirtualMachine:
        vm = self.vc.guest.set_workload(self._vm(request.vm), request.workload.dirty_rate_mbps, request.workload.working_set_mb,
                                        current_principal().name)
        return translate.vm(vm)

    def WriteGuestMemory(self, request: emulator_pb2.GuestMemoryWriteRequest,
                         context: grpc.ServicerContext) -> inventory_pb2.GuestMemoryInfo:
        write = MemoryWrite(request.random_fraction, request.marker, request.page if request.HasField("page") else None,
                            request.every_pages)
        return self.vc.guest.write_memory(self._vm(request.vm), write)

    def GetGuestMemory(self, request: common_pb2.ObjectRef, context: grpc.ServicerContext) -> inventory_pb2.GuestMemoryInfo:
        return self.vc.guest.memory(self._vm(request))

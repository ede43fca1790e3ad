"""LinkedMode (the peer API between the vCenters of one SSO domain) and Emulator (administration)."""

from __future__ import annotations

from ..model.faults import HostNotConnected, InvalidArgument
from ..model.inventory import Datacenter, Host
from ..rpc.auth import current_principal
from ..rpc.convert import fault_rule_from_proto, fault_rule_to_proto
from ..v1 import emulator_pb2, emulator_pb2_grpc, fault_rules_pb2, linked_mode_pb2, linked_mode_pb2_grpc
from . import translate
from .incoming import Arrival, MigrationTarget
from .peers import PeerInfo
from .vcenter import VCenter


def peer_to_proto(peer: PeerInfo) -> linked_mode_pb2.PeerInfo:
    return linked_mode_pb2.PeerInfo(name=peer.name, instance_uuid=peer.instance_uuid, version=peer.version,
                                    sso_domain=peer.sso_domain, url=peer.url, thumbprint=peer.thumbprint)


class LinkedModeServicer(linked_mode_pb2_grpc.LinkedModeServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    def Hello(self, request, context):
        caller = current_principal()
        if request.name != caller.name:
            raise InvalidArgument(f"{caller} cannot introduce itself as {request.name!r}", argument="name")
        self.vc.add_peer(PeerInfo(request.name, request.instance_uuid, request.version, caller.domain, request.url, request.thumbprint).check())
        return peer_to_proto(self.vc.me_as_peer())

    def ListPeers(self, request, context):
        return linked_mode_pb2.ListPeersResponse(peers=[peer_to_proto(p) for p in self.vc.peers()])

    # -- cross-vCenter vMotion, this vCenter being the destination -------------------------------

    def _arrival(self, request) -> tuple[Arrival, MigrationTarget]:  # type: ignore[no-untyped-def]
        caller = current_principal()
        if request.source_vcenter != caller.name:
            raise InvalidArgument(f"{caller} cannot migrate on behalf of {request.source_vcenter!r}", argument="source_vcenter")
        arrival = Arrival(translate.vm_from_proto(request.vm), request.source_vcenter, request.source_host,
                          tuple(request.disk_datastores), tuple(request.nic_networks), request.hot, request.encrypted,
                          tuple(request.disk_paths))
        return arrival, MigrationTarget(request.host, request.datastore, request.pool)

    def CheckMigration(self, request, context):
        host, _ = self.vc.incoming.check(*self._arrival(request))
        return linked_mode_pb2.CheckMigrationResponse(host=translate.host(host, []),
                                                      datacenter=self.vc.state.get(host.datacenter, Datacenter).name)

    def PrepareMigration(self, request, context):
        arrival, target = self._arrival(request)
        spec = request.spec if request.HasField("spec") else None
        try:
            address = self.vc.incoming.prepare(request.migration_id, arrival, target, spec)
        finally:
            request.Clear()   # the key crossed in it: keep no reference once the host has it
        return linked_mode_pb2.PrepareMigrationResponse(vmotion_address=address)

    def CommitMigration(self, request, context):
        return linked_mode_pb2.CommitMigrationResponse(vm=self.vc.incoming.commit(request.migration_id))

    def FinishMigration(self, request, context):
        return linked_mode_pb2.CommitMigrationResponse(vm=self.vc.incoming.finish(request.migration_id, request.restart).moid)

    def GetArrivalState(self, request, context):
        state, runs = self.vc.incoming.state_of(request.migration_id, request.instance_uuid, request.host)
        return linked_mode_pb2.ArrivalStateResponse(state=state, host_runs_vm=runs)

    def AbortMigration(self, request, context):
        self.vc.incoming.abort(request.migration_id, request.reason)
        return linked_mode_pb2.AbortMigrationResponse()


class EmulatorServicer(emulator_pb2_grpc.EmulatorServicer):
    def __init__(self, vc: VCenter) -> None:
        self.vc = vc

    def Reset(self, request, context):
        return emulator_pb2.ResetResponse(vms=self.vc.reset())

    def AddFaultRule(self, request, context):
        return fault_rules_pb2.AddFaultRuleResponse(rules=self.vc.add_fault_rule(fault_rule_from_proto(request)))

    def _on_hosts(self, call) -> list:  # type: ignore[no-untyped-def]
        """`call(agent)` on every host that answers; a host that is down has lost its rules anyway."""
        answers = []
        for host in self.vc.state.all(Host):
            try:
                answers.append(call(self.vc.hosts.agent(host)))
            except HostNotConnected:
                continue
        return answers

    def ListFaultRules(self, request, context):
        rules = [fault_rule_to_proto(r) for r in self.vc.faults.rules()]
        for host_rules in self._on_hosts(lambda agent: agent.fault_rules()):
            rules += host_rules
        return fault_rules_pb2.ListFaultRulesResponse(rules=rules)

    def ClearFaultRules(self, request, context):
        cleared = self.vc.faults.clear() + sum(self._on_hosts(lambda agent: agent.clear_fault_rules()))
        return fault_rules_pb2.ClearFaultRulesResponse(cleared=cleared)

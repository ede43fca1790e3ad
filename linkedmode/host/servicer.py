"""HostAgent over gRPC: translation only, the host's state decides."""

from __future__ import annotations

from ..rpc.convert import power_state_to_proto
from ..v1 import host_agent_pb2 as pb
from ..v1 import host_agent_pb2_grpc
from ..v1 import inventory_pb2
from .state import HostState, HostVm, HostVmConfig


def running_vm(vm: HostVm) -> pb.RunningVm:
    return pb.RunningVm(
        instance_uuid=vm.config.instance_uuid, name=vm.config.name,
        power_state=power_state_to_proto(vm.power_state), memory_mb=vm.config.memory_mb,
    )


class HostAgentServicer(host_agent_pb2_grpc.HostAgentServicer):
    def __init__(self, host: HostState) -> None:
        self.host = host

    def GetAbout(self, request, context):
        h = self.host
        return pb.HostAbout(
            name=h.name, version=str(h.version), build=h.build, sso_domain=h.domain, managed_by=h.managed_by,
            capability=inventory_pb2.HostCapability(
                encrypted_vmotion_supported=h.encrypted_vmotion_supported, aes_ni=h.spec.aes_ni,
                max_concurrent_vmotions=h.max_concurrent_vmotions,
            ),
            vmotion=inventory_pb2.VMotionInterface(address=h.vmotion_address or h.spec.vmotion.address,
                                                   bandwidth=h.spec.vmotion.bandwidth),
            memory_mb=h.spec.memory_mb,
        )

    def RegisterVm(self, request, context):
        config = HostVmConfig(
            instance_uuid=request.instance_uuid, name=request.name, memory_mb=request.memory_mb,
            num_cpu=request.num_cpu or 1, dirty_rate_mbps=request.workload.dirty_rate_mbps,
            working_set_mb=request.workload.working_set_mb, mac_addresses=tuple(request.mac_addresses),
            encrypted=request.encrypted,
        )
        return running_vm(self.host.register(config))

    def UnregisterVm(self, request, context):
        self.host.unregister(request.instance_uuid)
        return pb.UnregisterVmResponse()

    def PowerOnVm(self, request, context):
        return running_vm(self.host.power_on(request.instance_uuid))

    def PowerOffVm(self, request, context):
        return running_vm(self.host.power_off(request.instance_uuid))

    def ListVms(self, request, context):
        return pb.ListHostVmsResponse(vms=[running_vm(vm) for vm in self.host.vms()])

    def Reset(self, request, context):
        self.host.reset()
        return pb.HostResetResponse()

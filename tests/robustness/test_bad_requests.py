"""Bad input to every method of every service: a clear refusal with a Fault naming the field and the
problem (INVALID_ARGUMENT, or NOT_FOUND / FAILED_PRECONDITION where that is the honest answer), never
UNKNOWN or INTERNAL, and the part answers a good call afterwards.

The table must hold a case for each method the generated descriptors list: a new method fails
`test_every_method_has_a_bad_request_case` until it gets one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from estate_helpers import call_fault
from google.protobuf.message import Message
from robustness_helpers import assert_still_serving, every_method, fault_detail, method_id, refusal

from linkedmode.crypto import secrets as crypto_secrets
from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.model.faults import InsufficientMemoryResourcesFault
from linkedmode.rpc.faults import fault_from_error
from linkedmode.v1 import (
    common_pb2,
    emulator_pb2,
    fault_rules_pb2,
    host_agent_pb2,
    host_agent_pb2_grpc,
    inventory_pb2,
    linked_mode_pb2,
    vcenter_pb2,
    vcenter_pb2_grpc,
)

GARBAGE = b"\xff\xff\xff\xff"          # not a protobuf message of any type
LONG = "x" * 100_000
TOO_LONG = "is 100000 characters long; at most 1024 are allowed"


@dataclass(frozen=True)
class Facts:
    running_vm: str      # instance UUID of a VM that runs on esx-a1


@dataclass(frozen=True)
class Bad:
    method: str                                            # "VCenter/GetVm"
    request: Message | bytes | Callable[[Facts], Message]
    code: str                                              # the status code's name
    fault: str                                             # the Fault's name
    says: str                                              # part of the Fault's message

    def payload(self, facts: Facts) -> bytes:
        request = self.request(facts) if callable(self.request) else self.request
        return request if isinstance(request, bytes) else request.SerializeToString()


def invalid(method: str, request, says: str) -> Bad:  # type: ignore[no-untyped-def]
    return Bad(method, request, "INVALID_ARGUMENT", "InvalidArgument", says)


def not_found(method: str, request, says: str) -> Bad:  # type: ignore[no-untyped-def]
    return Bad(method, request, "NOT_FOUND", "NotFound", says)


def garbage(method: str) -> Bad:
    """For a method whose request has no field to get wrong: bytes that are no message at all."""
    return invalid(method, GARBAGE, "the request is not a valid message of this method's type")


ref = common_pb2.ObjectRef
vm_ref = ref(name="app-disabled")
vm = inventory_pb2.VirtualMachine(name="visitor", instance_uuid="42000000-0000-0000-0000-000000000001", memory_mb=16,
                                  num_cpu=1, power_state=common_pb2.POWER_STATE_POWERED_ON,
                                  migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_OPPORTUNISTIC)
arrival = linked_mode_pb2.IncomingMigrationRequest
small = inventory_pb2.VmConfig(instance_uuid="42000000-0000-0000-0000-000000000002", name="small", memory_mb=16)
spec = host_agent_pb2.MigrationSpec
key = bytes(range(1, 33))


def changed(base: Message, **changes: object) -> Message:
    message = type(base)()
    message.CopyFrom(base)
    for field, value in changes.items():
        if isinstance(value, Message):
            getattr(message, field).CopyFrom(value)
        else:
            setattr(message, field, value)
    return message


def with_vm(**changes: object) -> inventory_pb2.VirtualMachine:
    return changed(vm, **changes)


def config(**changes: object) -> inventory_pb2.VmConfig:
    return changed(small, **changes)


def source(address: str = "127.0.0.1:1", **settings: float) -> Callable[[Facts], Message]:
    return lambda facts: host_agent_pb2.PrepareSourceRequest(
        spec=spec(migration_id=7, vm=config(instance_uuid=facts.running_vm), settings=host_agent_pb2.MigrationSettings(**settings)),
        destination_vmotion_address=address)


CASES = [
    # -- VCenter ------------------------------------------------------------------------------------
    garbage("VCenter/GetAbout"),
    garbage("VCenter/ListLinkedVCenters"),
    invalid("VCenter/ListDatacenters", inventory_pb2.ListRequest(datacenter=LONG), f"datacenter {TOO_LONG}"),
    not_found("VCenter/ListClusters", inventory_pb2.ListRequest(datacenter="nope"), "vc-a has no datacenter named 'nope'"),
    not_found("VCenter/ListHosts", inventory_pb2.ListRequest(datacenter="datacenter-999"), "vc-a has no datacenter 'datacenter-999'"),
    not_found("VCenter/ListDatastores", inventory_pb2.ListRequest(datacenter="nope"), "vc-a has no datacenter named 'nope'"),
    not_found("VCenter/ListNetworks", inventory_pb2.ListRequest(datacenter="nope"), "vc-a has no datacenter named 'nope'"),
    not_found("VCenter/ListVms", vcenter_pb2.ListVmsRequest(host="nope"), "vc-a has no host named 'nope'"),
    invalid("VCenter/GetDatacenter", ref(), "name a datacenter by moid or name"),
    invalid("VCenter/GetCluster", ref(moid=LONG), f"moid {TOO_LONG}"),
    not_found("VCenter/GetHost", ref(moid="vm-10"), "vc-a has no host 'vm-10'"),
    invalid("VCenter/GetDatastore", ref(name=LONG), f"name {TOO_LONG}"),
    not_found("VCenter/GetNetwork", ref(name="nope"), "vc-a has no network named 'nope'"),
    invalid("VCenter/GetVm", ref(), "name a vm by moid or name"),
    invalid("VCenter/GetVm", ref(name=LONG), f"name {TOO_LONG}"),
    invalid("VCenter/PowerOnVm", ref(), "name a vm by moid or name"),
    not_found("VCenter/PowerOffVm", ref(name="nope"), "vc-a has no vm named 'nope'"),
    invalid("VCenter/ReconfigVm", vcenter_pb2.ReconfigVmRequest(), "name a vm by moid or name"),
    invalid("VCenter/ReconfigVm",
            vcenter_pb2.ReconfigVmRequest(vm=vm_ref, spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=99)),
            "spec.migrate_encryption 99 is not one of MIGRATE_ENCRYPTION_DISABLED (1)"),
    invalid("VCenter/ReconfigVm", vcenter_pb2.ReconfigVmRequest(vm=vm_ref, spec=vcenter_pb2.VirtualMachineConfigSpec(migrate_encryption=0)),
            "migrate_encryption 0 is not one of MIGRATE_ENCRYPTION_DISABLED (1)"),
    invalid("VCenter/RelocateVm", vcenter_pb2.RelocateVmRequest(vm=vm_ref), "give spec.host, spec.datastore or both"),
    invalid("VCenter/RelocateVm", vcenter_pb2.RelocateVmRequest(vm=vm_ref, spec=vcenter_pb2.RelocateSpec(host="esx-a2"), priority=99),
            "priority 99 is not one of"),
    invalid("VCenter/CheckRelocate", vcenter_pb2.RelocateVmRequest(vm=vm_ref, spec=vcenter_pb2.RelocateSpec(host=LONG)),
            f"spec.host {TOO_LONG}"),
    not_found("VCenter/CheckRelocate", vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="nope")),
              "vc-a has no vm named 'nope'"),
    invalid("VCenter/RelocateVm", vcenter_pb2.RelocateVmRequest(vm=vm_ref, spec=vcenter_pb2.RelocateSpec(host=LONG)),
            f"spec.host {TOO_LONG}"),
    invalid("VCenter/RelocateVm", vcenter_pb2.RelocateVmRequest(vm=vm_ref, spec=vcenter_pb2.RelocateSpec(
        host="esx-b1", datastore="ds-b-shared", pool="cluster-b", service=vcenter_pb2.ServiceLocator())),
        "spec.service.instance_uuid is required"),
    invalid("VCenter/RelocateVm", vcenter_pb2.RelocateVmRequest(vm=vm_ref, spec=vcenter_pb2.RelocateSpec(
        host="esx-b1", datastore="ds-b-shared", pool="cluster-b",
        service=vcenter_pb2.ServiceLocator(instance_uuid="u", ssl_thumbprint="AB", url="vc-b.example"))),
        "spec.service.url 'vc-b.example' is not host:port with a port of 1..65535"),
    invalid("VCenter/CreateVm", vcenter_pb2.CreateVmRequest(), "name is required"),
    invalid("VCenter/CreateVm", vcenter_pb2.CreateVmRequest(name="new", host="esx-a1", datastore="ds-a-shared", memory_mb=-1),
            "memory_mb -1 is not between 1 and 25165824"),
    invalid("VCenter/CreateVm", vcenter_pb2.CreateVmRequest(name="new", host="esx-a1", datastore="ds-a-shared", memory_mb=16,
                                                            disks=[vcenter_pb2.VirtualDiskSpec(capacity_mb=2**40)]),
            "disks[0].capacity_mb 1099511627776 is not between 1 and 65011712"),
    invalid("VCenter/CreateVm", vcenter_pb2.CreateVmRequest(name="n" * 81, host="esx-a1", datastore="ds-a-shared", memory_mb=16),
            "is longer than 80 characters"),
    not_found("VCenter/CreateVm", vcenter_pb2.CreateVmRequest(name="new", host="nope", datastore="ds-a-shared", memory_mb=16),
              "vc-a has no host named 'nope'"),
    invalid("VCenter/DestroyVm", ref(), "name a vm by moid or name"),
    not_found("VCenter/DestroyVm", ref(name="nope"), "vc-a has no vm named 'nope'"),
    invalid("VCenter/CreateSnapshot", vcenter_pb2.CreateSnapshotRequest(vm=vm_ref), "name is required"),
    not_found("VCenter/CreateSnapshot", vcenter_pb2.CreateSnapshotRequest(vm=ref(name="nope"), name="s"), "vc-a has no vm named 'nope'"),
    invalid("VCenter/RemoveSnapshot", vcenter_pb2.RemoveSnapshotRequest(vm=vm_ref), "snapshot is required"),
    invalid("VCenter/ListSnapshots", ref(), "name a vm by moid or name"),
    not_found("VCenter/ListSnapshots", ref(name="nope"), "vc-a has no vm named 'nope'"),
    garbage("VCenter/ListBlockedMacs"),
    not_found("VCenter/QueryPerf", vcenter_pb2.QueryPerfRequest(vm=ref(name="nope")), "vc-a has no vm named 'nope'"),
    invalid("VCenter/QueryPerf", vcenter_pb2.QueryPerfRequest(vm=vm_ref, max_sample=-1), "max_sample -1 is not between 0 and 180"),
    invalid("VCenter/QueryPerf", vcenter_pb2.QueryPerfRequest(vm=ref(name=LONG)), TOO_LONG),
    invalid("VCenter/ListHostAnnouncements", ref(), "name a host by moid or name"),
    not_found("VCenter/ListHostAnnouncements", ref(name="nope"), "vc-a has no host named 'nope'"),
    invalid("VCenter/SetMigrateEncryption", vcenter_pb2.SetMigrateEncryptionRequest(), "migrate_encryption 0 is not one of"),
    invalid("VCenter/SetMigrateEncryption", vcenter_pb2.SetMigrateEncryptionRequest(
        filter=vcenter_pb2.VmFilter(power_state=42), migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED),
        "power_state 42 is not one of"),
    not_found("VCenter/SetMigrateEncryption", vcenter_pb2.SetMigrateEncryptionRequest(
        filter=vcenter_pb2.VmFilter(name="nope-*"), migrate_encryption=common_pb2.MIGRATE_ENCRYPTION_REQUIRED),
        "no VM of vc-a matches name 'nope-*'"),
    invalid("VCenter/EvacuateHost", vcenter_pb2.EvacuateHostRequest(), "host is required"),
    not_found("VCenter/EvacuateHost", vcenter_pb2.EvacuateHostRequest(host="esx-a1", target_vcenter="vc-z"),
              "vc-z is not a vCenter linked with vc-a"),
    invalid("VCenter/EvacuateHost", vcenter_pb2.EvacuateHostRequest(host="esx-a1", priority=42), "priority 42"),
    not_found("VCenter/EnterMaintenanceMode", vcenter_pb2.EvacuateHostRequest(host="nope"), "nope"),
    invalid("VCenter/EnterMaintenanceMode", vcenter_pb2.EvacuateHostRequest(host=LONG), f"host {TOO_LONG}"),
    invalid("VCenter/ExitMaintenanceMode", ref(), "name a host by moid or name"),
    Bad("VCenter/ExitMaintenanceMode", ref(name="esx-a1"), "FAILED_PRECONDITION", "InvalidState",
        "host esx-a1 is not in maintenance mode"),
    garbage("VCenter/ListKeyProviders"),
    invalid("VCenter/SetDefaultKeyProvider", vcenter_pb2.KeyProviderRef(), "name is required"),
    not_found("VCenter/SetDefaultKeyProvider", vcenter_pb2.KeyProviderRef(name="nope"), "vc-a has no key provider 'nope'"),
    invalid("VCenter/AddKeyProvider", vcenter_pb2.AddKeyProviderRequest(name="kms-x", kms_address="nowhere"), "is not IP:PORT"),
    invalid("VCenter/AddKeyProvider", vcenter_pb2.AddKeyProviderRequest(name="k" * 200, kms_address="127.0.0.1:1"),
            "name is longer than 80"),
    invalid("VCenter/BackupKeyProvider", vcenter_pb2.BackupKeyProviderRequest(name="nkp-vc-a", password="short"),
            "at least 8 characters"),
    invalid("VCenter/RestoreKeyProvider", vcenter_pb2.RestoreKeyProviderRequest(), "backup is required"),
    invalid("VCenter/RestoreKeyProvider", vcenter_pb2.RestoreKeyProviderRequest(backup=b"x", password="p"),
            "not a Native Key Provider backup"),
    invalid("VCenter/ReconfigVm", vcenter_pb2.ReconfigVmRequest(vm=vm_ref, spec=vcenter_pb2.VirtualMachineConfigSpec(
        crypto=vcenter_pb2.CryptoSpec())), "neither encrypt nor decrypt"),
    invalid("VCenter/GetTask", vcenter_pb2.GetTaskRequest(), "key is required"),
    not_found("VCenter/GetTask", vcenter_pb2.GetTaskRequest(key="task-vc-a-999999"), "vc-a has no task 'task-vc-a-999999'"),
    invalid("VCenter/ListTasks", vcenter_pb2.ListTasksRequest(limit=-1), "limit -1 is not between 0 and 1000"),
    invalid("VCenter/ListTasks", vcenter_pb2.ListTasksRequest(limit=2**31 - 1), "limit 2147483647 is not between 0 and 1000"),
    invalid("VCenter/WaitTask", vcenter_pb2.GetTaskRequest(), "key is required"),
    invalid("VCenter/CancelTask", vcenter_pb2.GetTaskRequest(key=LONG), f"key {TOO_LONG}"),
    invalid("VCenter/QueryEvents", vcenter_pb2.EventFilter(limit=-1), "limit -1 is not between 0 and 1000"),
    invalid("VCenter/QueryEvents", vcenter_pb2.EventFilter(after_key=-5), "after_key -5 is not between 0 and"),
    invalid("VCenter/QueryEvents", vcenter_pb2.EventFilter(types=["VmPoweredOnEvent"] * 2000), "types has 2000 entries; at most 1024"),
    not_found("VCenter/WatchEvents", vcenter_pb2.EventFilter(vm="nope"), "vc-a has no vm named 'nope'"),
    invalid("VCenter/WatchEvents", vcenter_pb2.EventFilter(limit=-2**31), "limit -2147483648 is not between 0 and 1000"),
    # -- LinkedMode, called by vc-b ---------------------------------------------------------------------
    invalid("LinkedMode/Hello", linked_mode_pb2.PeerInfo(name="vc-legacy"), "cannot introduce itself as 'vc-legacy'"),
    invalid("LinkedMode/Hello",
            linked_mode_pb2.PeerInfo(name="vc-b", instance_uuid="u", thumbprint="AB", url="127.0.0.1:1", version="seven"),
            "version 'seven' is not a version like 7.0 or 7.0.3"),
    invalid("LinkedMode/Hello", linked_mode_pb2.PeerInfo(name="vc-b", instance_uuid="u", thumbprint="AB", url="127.0.0.1", version="7.0.3"),
            "url '127.0.0.1' is not host:port"),
    garbage("LinkedMode/ListPeers"),
    garbage("LinkedMode/ListHostCapacity"),
    invalid("LinkedMode/CheckMigration", arrival(), "cannot migrate on behalf of ''"),
    invalid("LinkedMode/CheckMigration", arrival(source_vcenter="vc-b", host="esx-a1", vm=with_vm(power_state=99)),
            "vm.power_state 99 is not one of"),
    invalid("LinkedMode/CheckMigration", arrival(source_vcenter="vc-b", host="esx-a1", vm=with_vm(power_state=0)),
            "power_state 0 is not one of POWER_STATE_POWERED_OFF (1)"),
    invalid("LinkedMode/CheckMigration", arrival(source_vcenter="vc-b", host="esx-a1", vm=with_vm(memory_mb=-5)),
            "vm.memory_mb -5 is not between 1 and"),
    invalid("LinkedMode/CheckMigration", arrival(source_vcenter="vc-b", vm=vm), "spec.host is required"),
    not_found("LinkedMode/CheckMigration", arrival(source_vcenter="vc-b", host="nope", vm=vm), "vc-a has no host named 'nope'"),
    invalid("LinkedMode/ReserveMigration", arrival(), "cannot migrate on behalf of ''"),
    not_found("LinkedMode/ReserveMigration", arrival(source_vcenter="vc-b", host="nope", vm=vm, migration_id=5),
              "vc-a has no host named 'nope'"),
    not_found("LinkedMode/PrepareMigration", arrival(source_vcenter="vc-b", host="esx-a1", vm=vm, hot=True, migration_id=5),
              "no migration 0000000000000005 is reserved on vc-a"),
    invalid("LinkedMode/PrepareMigration", arrival(source_vcenter="vc-b", host="esx-a1", vm=vm, hot=True, migration_id=5,
                                                   spec=spec(migration_id=6)),
            "spec.migration_id 0000000000000006 is not the migration's id"),
    not_found("LinkedMode/CommitMigration", host_agent_pb2.MigrationRef(migration_id=12345),
            "no migration 0000000000003039 is prepared on vc-a"),
    not_found("LinkedMode/FinishMigration", host_agent_pb2.MigrationRef(migration_id=12345),
            "no migration 0000000000003039 is prepared on vc-a"),
    invalid("LinkedMode/GetArrivalState", linked_mode_pb2.ArrivalStateRequest(instance_uuid=LONG), f"instance_uuid {TOO_LONG}"),
    invalid("LinkedMode/AbortMigration", host_agent_pb2.AbortMigrationRequest(migration_id=1, reason="r" * 20_000),
            "reason is 20000 characters long; at most 16384"),
    # -- Emulator -----------------------------------------------------------------------------------------
    garbage("Emulator/Reset"),
    invalid("Emulator/AddFaultRule", fault_rules_pb2.FaultRule(step=99), "step 99 is not one of MIGRATION_STEP_SPEC_EXCHANGE (1)"),
    invalid("Emulator/AddFaultRule", fault_rules_pb2.FaultRule(), "step 0 is not one of MIGRATION_STEP_SPEC_EXCHANGE (1)"),
    invalid("Emulator/AddFaultRule", fault_rules_pb2.FaultRule(step=fault_rules_pb2.MIGRATION_STEP_STUN, probability=float("nan")),
            "probability must be a finite number, not nan"),
    garbage("Emulator/ListFaultRules"),
    garbage("Emulator/ClearFaultRules"),
    invalid("Emulator/SetGuestWorkload", emulator_pb2.SetGuestWorkloadRequest(
        vm=vm_ref, workload=inventory_pb2.GuestWorkload(working_set_mb=1000)), "workload.working_set_mb 1000 is not between 0 and 128"),
    invalid("Emulator/SetGuestWorkload", emulator_pb2.SetGuestWorkloadRequest(
        vm=vm_ref, workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=float("nan"))), "workload.dirty_rate_mbps must be a finite number"),
    not_found("Emulator/SetGuestWorkload", emulator_pb2.SetGuestWorkloadRequest(vm=ref(name="nope")), "vc-a has no vm named 'nope'"),
    invalid("Emulator/WriteGuestMemory", emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref), "give random_fraction, marker or both"),
    invalid("Emulator/WriteGuestMemory", emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref, marker=b"m", page=40_000),
            "page 40000 is not between 0 and 32767"),
    invalid("Emulator/WriteGuestMemory", emulator_pb2.GuestMemoryWriteRequest(vm=vm_ref, random_fraction=2),
            "random_fraction 2.0 is not between 0 and 1"),
    Bad("Emulator/WriteGuestMemory", emulator_pb2.GuestMemoryWriteRequest(vm=ref(name="batch-off"), marker=b"m"), "FAILED_PRECONDITION",
        "InvalidPowerState", "batch-off is poweredOff: only a running guest has memory to write or read"),
    Bad("Emulator/GetGuestMemory", ref(name="batch-off"), "FAILED_PRECONDITION", "InvalidPowerState",
        "batch-off is poweredOff: only a running guest has memory to write or read"),
    # -- HostAgent on esx-a1, called by vc-a ----------------------------------------------------------------
    garbage("HostAgent/GetAbout"),
    invalid("HostAgent/RegisterVm", inventory_pb2.VmConfig(), "instance_uuid is required"),
    invalid("HostAgent/RegisterVm", config(memory_mb=0), "memory_mb 0 is not between 1 and 25165824"),
    invalid("HostAgent/RegisterVm", config(memory_mb=2**40), "memory_mb 1099511627776 is not between 1 and 25165824"),
    invalid("HostAgent/RegisterVm", config(num_cpu=-1), "num_cpu -1 is not between 1 and 768"),
    invalid("HostAgent/RegisterVm", config(workload=inventory_pb2.GuestWorkload(dirty_rate_mbps=float("inf"))),
            "workload.dirty_rate_mbps must be a finite number, not inf"),
    invalid("HostAgent/RegisterVm", config(workload=inventory_pb2.GuestWorkload(working_set_mb=17)),
            "working_set_mb 17 is not between 0 and 16"),
    invalid("HostAgent/RegisterVms", host_agent_pb2.RegisterVmsRequest(vms=[config(memory_mb=0)]),
            "memory_mb 0 is not between 1 and 25165824"),
    invalid("HostAgent/RegisterVms", host_agent_pb2.RegisterVmsRequest(vms=[config()] * 1025),
            "vms has 1025 entries; at most 1024 are allowed"),
    invalid("HostAgent/RegisterVms", host_agent_pb2.RegisterVmsRequest(vms=[config()], power_on=["nope"]),
            "power_on names nope, not among the VMs registered"),
    invalid("HostAgent/UnregisterVm", host_agent_pb2.VmRequest(), "instance_uuid is required"),
    not_found("HostAgent/PowerOnVm", host_agent_pb2.VmRequest(instance_uuid="nope"), "host esx-a1 has no VM nope"),
    invalid("HostAgent/PowerOffVm", host_agent_pb2.VmRequest(), "instance_uuid is required"),
    garbage("HostAgent/ListVms"),
    garbage("HostAgent/Reset"),
    invalid("HostAgent/PrepareDestination", spec(), "instance_uuid is required"),
    invalid("HostAgent/PrepareDestination", spec(migration_id=3, vm=small, encrypted=True, key=b"12345", nonce=b"12345678"),
            "an encrypted migration needs a 32-byte key and an 8-byte nonce"),
    invalid("HostAgent/PrepareDestination", spec(migration_id=3, vm=small, encrypted=True, key=bytes(32), nonce=b"12345678"),
            "migration key is all zeros"),
    invalid("HostAgent/PrepareDestination", spec(migration_id=3, vm=config(memory_mb=2**40)), "memory_mb 1099511627776 is not between"),
    Bad("HostAgent/PrepareDestination", spec(migration_id=3, vm=config(memory_mb=1 << 20)), "FAILED_PRECONDITION",
        "InsufficientMemoryResourcesFault", "small needs 1048576 MB; host esx-a1 has 65536 MB"),
    invalid("HostAgent/PrepareSource", source("localhost"), "destination_vmotion_address 'localhost' is not host:port"),
    invalid("HostAgent/PrepareSource", source("localhost:99999999"), "destination_vmotion_address 'localhost:99999999' is not host:port"),
    invalid("HostAgent/PrepareSource", source(switchover_goal_seconds=float("nan")),
            "spec.settings.switchover_goal_seconds must be a finite number"),
    invalid("HostAgent/PrepareSource", source(max_switchover_seconds=-1), "settings.max_switchover_seconds -1.0 is not between 0 and 3600"),
    not_found("HostAgent/MigrateVm", host_agent_pb2.MigrationRef(migration_id=999),
            "no migration 00000000000003e7 is prepared on host esx-a1"),
    not_found("HostAgent/CompleteMigration", host_agent_pb2.MigrationRef(migration_id=999), "no migration 00000000000003e7 on host esx-a1"),
    invalid("HostAgent/AbortMigration", host_agent_pb2.AbortMigrationRequest(reason="r" * 20_000), "reason is 20000 characters long"),
    garbage("HostAgent/ListMigrations"),
    garbage("HostAgent/ListAnnouncements"),
    garbage("HostAgent/QueryVmStats"),
    invalid("HostAgent/WriteGuestMemory", host_agent_pb2.WriteGuestMemoryRequest(), "instance_uuid is required"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, random_fraction=float("nan")), "random_fraction must be a finite number, not nan"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, random_fraction=1.5), "random_fraction 1.5 is not between 0 and 1"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, marker=b"m" * 100_000), "marker is 100000 bytes long; at most 65536"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, marker=b"m" * 5000), "marker must be 1..4096 bytes"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, marker=b"m", marker_every_pages=-1), "marker_every_pages -1 is not a positive number of pages"),
    Bad("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, marker=b"m" * (10 << 20)), "RESOURCE_EXHAUSTED", "", "larger than max"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, marker=b"m", marker_page=1 << 40), "marker_page 1099511627776 is not between 0 and 32767"),
    invalid("HostAgent/WriteGuestMemory", lambda facts: host_agent_pb2.WriteGuestMemoryRequest(
        instance_uuid=facts.running_vm, marker_page=3), "marker_page places a marker: give the marker"),
    invalid("HostAgent/SetGuestWorkload", host_agent_pb2.SetHostGuestWorkloadRequest(), "instance_uuid is required"),
    invalid("HostAgent/SetGuestWorkload", lambda facts: host_agent_pb2.SetHostGuestWorkloadRequest(
        instance_uuid=facts.running_vm, workload=inventory_pb2.GuestWorkload(working_set_mb=999)),
        "working_set_mb 999 is not between 0 and 128"),
    not_found("HostAgent/SetGuestWorkload", host_agent_pb2.SetHostGuestWorkloadRequest(instance_uuid="nope"), "host esx-a1 has no VM nope"),
    not_found("HostAgent/GetGuestMemory", host_agent_pb2.VmRequest(instance_uuid="nope"), "host esx-a1 has no VM nope"),
    invalid("HostAgent/AddFaultRule", fault_rules_pb2.FaultRule(step=fault_rules_pb2.MIGRATION_STEP_STUN, action=42),
            "action 42 is not one of FAULT_ACTION_ERROR (1)"),
    garbage("HostAgent/ListFaultRules"),
    garbage("HostAgent/ClearFaultRules"),
]

METHODS = {method_id(m): m for m in every_method()}


def test_every_method_has_a_bad_request_case():
    assert sorted(set(METHODS) - {case.method for case in CASES}) == []
    assert sorted({case.method for case in CASES} - set(METHODS)) == []


@pytest.fixture(scope="module")
def facts(channels) -> Facts:
    api = vcenter_pb2_grpc.VCenterStub(channels["linkedmode.v1.VCenter"])
    return Facts(running_vm=api.GetVm(vm_ref).instance_uuid)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method}-{i}" for i, c in enumerate(CASES)])
def test_a_bad_request_is_refused_clearly_and_the_part_goes_on(channels, facts, case):
    method = METHODS[case.method]
    service = method.containing_service.full_name
    error = refusal(channels[service], method, case.payload(facts))
    assert error is not None, f"{case.method} took the bad request"
    fault = fault_from_error(error)
    assert error.code().name == case.code, f"{case.method}: {error.code().name}: {fault}"
    if case.fault:
        assert fault_detail(error) is not None and fault.name == case.fault, f"{case.method}: {fault}"
    assert case.says in fault.message, f"{case.method}: {fault}"
    assert_still_serving(channels, service)


def test_a_vm_larger_than_its_host_stays_off(channels):
    host = host_agent_pb2_grpc.HostAgentStub(channels["linkedmode.v1.HostAgent"])
    host.RegisterVm(config(instance_uuid="42000000-0000-0000-0000-0000000000ff", name="giant", memory_mb=100_000))
    code, fault = call_fault(host.PowerOnVm, host_agent_pb2.VmRequest(instance_uuid="42000000-0000-0000-0000-0000000000ff"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(fault, InsufficientMemoryResourcesFault)
    assert fault.message == "giant needs 100000 MB; host esx-a1 has 65536 MB"
    running = {vm.name: vm.power_state for vm in host.ListVms(host_agent_pb2.ListHostVmsRequest()).vms}
    assert running["giant"] == common_pb2.POWER_STATE_POWERED_OFF
    host.UnregisterVm(host_agent_pb2.VmRequest(instance_uuid="42000000-0000-0000-0000-0000000000ff"))


def test_a_fault_quoting_a_long_value_is_cut_short_not_lost(channels):
    """Trailing metadata holds 8 KiB at most: a NotFound that quoted 1000 two-byte characters used to
    arrive as RESOURCE_EXHAUSTED, without its Fault."""
    api = vcenter_pb2_grpc.VCenterStub(channels["linkedmode.v1.VCenter"])
    code, fault = call_fault(api.GetVm, ref(name="\u00e9" * 1000))
    assert code == grpc.StatusCode.NOT_FOUND and fault.name == "NotFound"
    assert fault.message.startswith("vc-a has no vm named '\u00e9\u00e9") and fault.message.endswith("...")


def test_an_oversize_request_is_refused_by_grpc_and_the_part_goes_on(channels):
    api = vcenter_pb2_grpc.VCenterStub(channels["linkedmode.v1.VCenter"])
    code, _ = call_fault(api.GetVm, ref(name="x" * (5 << 20)))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_still_serving(channels, "linkedmode.v1.VCenter")


def test_a_refused_prepare_wipes_the_key_it_was_given(channels, monkeypatch):
    """The key arrives before the host knows it cannot take the VM: refused, it is wiped all the same."""
    made: list[MigrationSecrets] = []

    class Recorded(MigrationSecrets):
        __slots__ = ()

        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(crypto_secrets, "MigrationSecrets", Recorded)   # what secrets_from_wire makes
    host = host_agent_pb2_grpc.HostAgentStub(channels["linkedmode.v1.HostAgent"])
    code, _ = call_fault(host.PrepareDestination, spec(migration_id=3, vm=config(memory_mb=1 << 20), encrypted=True,
                                                       key=key, nonce=b"12345678"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert len(made) == 1 and made[0].wiped


def test_waiting_for_an_arrival_gives_its_thread_back_at_the_callers_deadline(channels):
    """CompleteMigration on an arrival waits for it to end, but no longer than its caller does: more calls
    given up than the host has peer threads leave one for the next call (each used to hold a thread for
    the host's whole arrival_end, 30 s, after its caller had gone)."""
    host = host_agent_pb2_grpc.HostAgentStub(channels["linkedmode.v1.HostAgent"])
    arriving = config(instance_uuid="42000000-0000-0000-0000-000000000077", name="arriving")
    host.PrepareDestination(spec(migration_id=77, vm=arriving), timeout=10)
    try:
        for _ in range(17):                              # the host's 16 peer threads, and one more
            try:                                         # it says how the arrival stands, or the deadline passes first
                answer = host.CompleteMigration(host_agent_pb2.MigrationRef(migration_id=77), timeout=0.2)
                assert answer.phase == host_agent_pb2.MIGRATION_PHASE_PREPARED      # not ended: still waiting for its source
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        began = time.monotonic()
        host.ListMigrations(host_agent_pb2.ListMigrationsRequest(), timeout=5)     # a peer thread is free at once
        assert time.monotonic() - began < 2
    finally:
        host.AbortMigration(host_agent_pb2.AbortMigrationRequest(migration_id=77, reason="test over"), timeout=10)

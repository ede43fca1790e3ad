"""An estate with vSAN datastores, encrypted and not, on two linked vCenters, and what a guest does to a
disk: write a marker through its datastore's vSAN layer, and read the disk's digest as the guest sees it.

vc-a takes its vSAN key from the KMS both vCenters share; vc-b takes its own from its Native Key
Provider, which vc-a cannot reach: a datastore's key never has to be shared for a VM to move.
"""

from __future__ import annotations

import uuid

import yaml
from estate_helpers import client_of, wait_task
from migration_estate import locator_of

from linkedmode.estate import Estate, start_estate
from linkedmode.model.inventory import Datastore, Vm
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2
from linkedmode.vcenter.vsan_keys import VsanKeys
from linkedmode.vmotion.disks import disk_digest
from linkedmode.vmotion.frames import DISK_BLOCK
from linkedmode.vmotion.vsan import VsanEncryption

TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        key_providers: [kms-shared]
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: a1, version: 7.0.3}, {name: a2, version: 7.0.3}]}]
            datastores:
              - {name: ds-a-plain}
              - {name: ds-a-vsan, type: vsan}
              - {name: ds-a-vsan-enc, type: vsan, encrypted: true}
            networks: [{name: VM Network}]
            vms:
              - {name: hot-plain, host: a1, memory_mb: 16, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a-vsan-enc, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: hot-vsan, host: a1, memory_mb: 16, migrate_encryption: required, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a-vsan, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: hot-encrypted, host: a1, memory_mb: 16, encrypted: true, key_provider: kms-shared,
                 nics: [{network: VM Network}], disks: [{datastore: ds-a-vsan-enc, capacity_mb: 8, encrypted: true}]}
              - {name: cold, host: a2, memory_mb: 16, power_state: poweredOff, migrate_encryption: disabled,
                 nics: [{network: VM Network}], disks: [{datastore: ds-a-vsan-enc, capacity_mb: 8}]}
      - name: vc-b
        version: 7.0.3
        key_providers: [kms-shared, nkp-vc-b]
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b1, version: 7.0.3}]}]
            datastores:
              - {name: ds-b-plain}
              - {name: ds-b-vsan-enc, type: vsan, encrypted: true, key_provider: nkp-vc-b}
            networks: [{name: VM Network}]
"""


def vsan_estate(state_dir=None) -> Estate:
    return start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "vsan-test"), state_dir)


def vm_of(estate: Estate, vcenter: str, name: str) -> Vm:
    return estate.vcenters[vcenter].vcenter.state.find(Vm, name=name)


def disk_of(estate: Estate, vcenter: str, name: str) -> tuple[str, Datastore]:
    """The file of the VM's first disk, and the datastore it is on."""
    vc = estate.vcenters[vcenter].vcenter
    vm = vm_of(estate, vcenter, name)
    store = vc.state.get(vm.disks[0].datastore, Datastore)
    return vc.datastores.disk_path(store.name, vm.name, vm.disks[0]), store


def layer_of(estate: Estate, vcenter: str, store: Datastore) -> VsanEncryption | None:
    vc = estate.vcenters[vcenter].vcenter
    return VsanKeys(vc.state, vc.keys).layer(store)


def guest_write_marker(estate: Estate, vcenter: str, name: str) -> bytes:
    """A marker written into block 1 of the VM's first disk as its guest would: through the vSAN layer."""
    path, store = disk_of(estate, vcenter, name)
    layer = layer_of(estate, vcenter, store)
    marker = f"guest-marker-{uuid.uuid4()}".encode()
    with open(path, "r+b") as disk:
        disk.seek(DISK_BLOCK)
        block = bytearray(disk.read(DISK_BLOCK).ljust(DISK_BLOCK, b"\0"))
        if layer is not None:
            layer.decrypt(1, block)
        block[100:100 + len(marker)] = marker
        if layer is not None:
            layer.encrypt(1, block)
            layer.wipe()
        disk.seek(DISK_BLOCK)
        disk.write(block)
    return marker


def guest_view(estate: Estate, vcenter: str, name: str) -> bytes:
    """The VM's first disk as the guest reads it (through the vSAN layer of its datastore)."""
    path, store = disk_of(estate, vcenter, name)
    layer = layer_of(estate, vcenter, store)
    with open(path, "rb") as disk:
        data = bytearray(disk.read())
    if layer is not None:
        layer.decrypt(0, data)
        layer.wipe()
    return bytes(data)


def guest_digest(estate: Estate, vcenter: str, name: str) -> bytes:
    path, store = disk_of(estate, vcenter, name)
    return disk_digest(path, layer_of(estate, vcenter, store))


def at_rest(estate: Estate, vcenter: str, name: str) -> bytes:
    path, _ = disk_of(estate, vcenter, name)
    with open(path, "rb") as disk:
        return disk.read()


def move(estate: Estate, vcenter: str, vm: str, to: str, host: str, datastore: str) -> common_pb2.Task:
    client = client_of(estate, vcenter)
    spec = vcenter_pb2.RelocateSpec(host=host, datastore=datastore, pool=f"cluster-{to[-1]}")
    if to != vcenter:
        spec.service.CopyFrom(locator_of(estate, to))
    return wait_task(client, client.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec)))


def crypto(estate: Estate, vcenter: str, vm: str, *, encrypt: str = "", decrypt: bool = False) -> common_pb2.Task:
    spec = vcenter_pb2.CryptoSpec(decrypt=vcenter_pb2.CryptoSpecDecrypt()) if decrypt else \
        vcenter_pb2.CryptoSpec(encrypt=vcenter_pb2.CryptoSpecEncrypt(key_provider=encrypt))
    client = client_of(estate, vcenter)
    return wait_task(client, client.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(
        vm=common_pb2.ObjectRef(name=vm), spec=vcenter_pb2.VirtualMachineConfigSpec(crypto=spec))))

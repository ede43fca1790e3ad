"""A small estate for migration tests: tiny VMs, hosts of every kind, two linked vCenters and the rest.
ESXi 6.0 (o60) stands under the 6.7 vCenter vc-old: a 7.0 vCenter does not manage it (row X8)."""

from __future__ import annotations

import yaml
from estate_helpers import client_of, wait_task

from linkedmode.estate import Estate, start_estate
from linkedmode.rpc.faults import fault_from_proto
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        key_providers: [kms-shared, nkp-vc-a]
        datacenters:
          - name: dc-a
            clusters:
              - name: cluster-a
                hosts:
                  - {name: a70, version: 7.0.3}
                  - {name: a67, version: 6.7.0}
                  - {name: a-slow, version: 7.0.3, vmotion: {bandwidth: 1GbE}}
            datastores: [{name: ds-a}]
            networks: [{name: VM Network}]
            vms:
              - {name: disabled, host: a70, memory_mb: 16, migrate_encryption: disabled, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: opportunistic, host: a70, memory_mb: 16, migrate_encryption: opportunistic, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: required, host: a70, memory_mb: 16, migrate_encryption: required, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: encrypted, host: a70, memory_mb: 16, encrypted: true, key_provider: kms-shared, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8, encrypted: true}]}
              - {name: nkp, host: a70, memory_mb: 16, encrypted: true, key_provider: nkp-vc-a, nics: [{network: VM Network}]}
              - {name: off-required, host: a70, memory_mb: 16, migrate_encryption: required, power_state: poweredOff,
                 disks: [{datastore: ds-a, capacity_mb: 8}]}
              - {name: sleeper, host: a70, memory_mb: 16, power_state: suspended, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}]}
              - {name: off-opportunistic, host: a70, memory_mb: 16, power_state: poweredOff, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}]}
              - {name: twin, host: a70, memory_mb: 16, nics: [{network: VM Network, mac_address: "00:50:56:3f:00:01"}]}
              - {name: busy-1, host: a-slow, memory_mb: 16, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
              - {name: busy-2, host: a-slow, memory_mb: 16, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
              - {name: busy-3, host: a-slow, memory_mb: 16, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
              - {name: busy-4, host: a-slow, memory_mb: 16, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
              - {name: busy-5, host: a-slow, memory_mb: 16, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
              - {name: busy-6, host: a-slow, memory_mb: 16, guest: {dirty_rate_mbps: 4, working_set_mb: 8}}
      - name: vc-b
        version: 7.0.3
        key_providers: [kms-shared]
        datacenters:
          - name: dc-b
            clusters:
              - name: cluster-b
                hosts:
                  - {name: b70, version: 7.0.3}
                  - {name: b67, version: 6.7.0}
                  - {name: b-noaes, version: 7.0.3, aes_ni: false}
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
            vms:
              - {name: mac-holder, host: b70, memory_mb: 16, nics: [{network: VM Network, mac_address: "00:50:56:3f:00:01"}]}
      - name: vc-old
        version: 6.7.0
        key_providers: [kms-shared]
        datacenters:
          - name: dc-old
            clusters: [{name: cluster-old, hosts: [{name: o67, version: 6.7.0}, {name: o60, version: 6.0.0}]}]
            datastores: [{name: ds-old}]
            networks: [{name: VM Network}]
            vms:
              - {name: old-disabled, host: o67, memory_mb: 16, migrate_encryption: disabled, nics: [{network: VM Network}],
                 guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: old-opportunistic, host: o67, memory_mb: 16, nics: [{network: VM Network}],
                 guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: old-required, host: o67, memory_mb: 16, migrate_encryption: required, nics: [{network: VM Network}]}
              - {name: old-encrypted, host: o67, memory_mb: 16, encrypted: true, key_provider: kms-shared,
                 nics: [{network: VM Network}]}
  - name: corp.local
    vcenters:
      - name: vc-x
        version: 7.0.3
        datacenters:
          - name: dc-x
            clusters: [{name: cluster-x, hosts: [{name: x70, version: 7.0.3}]}]
            datastores: [{name: ds-x}]
            networks: [{name: VM Network}]
"""


def migration_estate(state_dir=None, host_timeouts: dict[str, dict[str, float]] | None = None,
                     vcenter_timeouts: dict[str, float] | None = None) -> Estate:
    """The estate above; `host_timeouts` gives hosts, by name, a `timeouts:` mapping of their own, and
    `vcenter_timeouts` gives one to every vCenter."""
    data = yaml.safe_load(TOPOLOGY)
    wanted = dict(host_timeouts or {})
    for domain in data["sso_domains"]:
        for vcenter in domain["vcenters"]:
            if vcenter_timeouts:
                vcenter["timeouts"] = dict(vcenter_timeouts)
            for datacenter in vcenter["datacenters"]:
                for cluster in datacenter["clusters"]:
                    for host in cluster["hosts"]:
                        if host["name"] in wanted:
                            host["timeouts"] = wanted.pop(host["name"])
    assert not wanted, f"no such hosts: {sorted(wanted)}"
    return start_estate(parse_topology(data, "migration-test"), state_dir)


def locator_of(estate: Estate, vcenter: str) -> vcenter_pb2.ServiceLocator:
    server = estate.vcenters[vcenter]
    domain = server.domain.name
    about = client_of(estate, vcenter, "administrator").api.GetAbout(vcenter_pb2.GetAboutRequest()) if domain == "vsphere.local" else None
    if about is None:   # a vCenter of another SSO domain: what its owner would tell you
        vc = server.vcenter
        return vcenter_pb2.ServiceLocator(instance_uuid=vc.instance_uuid, url=vc.url, ssl_thumbprint=vc.thumbprint)
    return vcenter_pb2.ServiceLocator(instance_uuid=about.instance_uuid, url=about.url, ssl_thumbprint=about.thumbprint)


def relocate(client, vm: str, **spec) -> common_pb2.Task:
    request = vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=vcenter_pb2.RelocateSpec(**spec))
    return wait_task(client, client.api.RelocateVm(request))


def to_vc_b(estate: Estate, client, vm: str, host: str = "b70", **overrides) -> common_pb2.Task:
    spec = {"host": host, "datastore": "ds-b", "pool": "cluster-b", "service": locator_of(estate, "vc-b"), **overrides}
    return relocate(client, vm, **spec)


def vm_names(client) -> set[str]:
    return {vm.name for vm in client.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}


def fault_of(task: common_pb2.Task):
    assert task.state == common_pb2.TASK_STATE_ERROR, f"{task.entity_name} did not fail: {task.migration}"
    return fault_from_proto(task.error)

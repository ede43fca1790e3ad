"""A small topology to render: two linked vCenters with a host each sharing one KMS, and a VM that moves only encrypted."""

from __future__ import annotations

import time

from linkedmode.v1 import inventory_pb2

SMALL = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        key_providers: [kms-shared]
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: esx-a, version: 7.0.3}]}]
            datastores: [{name: ds-a}]
            networks: [{name: VM Network}]
            vms:
              - {name: app, host: esx-a, memory_mb: 32, migrate_encryption: required, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
      - name: vc-b
        version: 7.0.3
        key_providers: [kms-shared]
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: esx-b, version: 7.0.3}]}]
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
"""


def wait_for_hosts(*vcenters) -> None:
    """Pods start in any order: a vCenter that came up before its hosts connects them on its next
    settle round (timeouts.settle_interval), as vCenter does with a host that comes back."""
    deadline = time.monotonic() + 30
    for vc in vcenters:
        while any(h.connection_state != inventory_pb2.HOST_CONNECTION_STATE_CONNECTED
                  for h in vc.api.ListHosts(inventory_pb2.ListRequest()).hosts):
            assert time.monotonic() < deadline, f"the hosts of {vc.name} never connected"
            time.sleep(0.5)

"""A small estate of two linked vCenters, each with one host, every part in its own process."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from linkedmode.client import VCenterClient, connect_vcenter
from linkedmode.crypto.domain_pki import Pki
from linkedmode.crypto.identity import Identity
from linkedmode.process_estate import ProcessEstate
from linkedmode.v1 import common_pb2, vcenter_pb2

TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        timeouts: {max_switchover: 1.5, settle_interval: 0.5}
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: a1, version: 7.0.3}]}]
            datastores: [{name: ds-a}]
            networks: [{name: VM Network}]
            vms:
              - {name: mover, host: a1, memory_mb: 16, migrate_encryption: required, nics: [{network: VM Network}],
                 guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
      - name: vc-b
        version: 7.0.3
        timeouts: {max_switchover: 1.5, settle_interval: 0.5}
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b1, version: 7.0.3}]}]
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
"""


def client(estate: ProcessEstate, vcenter: str) -> VCenterClient:
    credential = Pki(estate.pki_dir).credential(Identity("vsphere.local", "user", "administrator"))
    return connect_vcenter(estate.info("vcenter", vcenter)["address"], credential, vcenter)


def relocate_to_vc_b(estate: ProcessEstate, vm: str) -> common_pb2.Task:
    """Starts moving `vm` from vc-a to b1 under vc-b; returns the task at once."""
    vc_a, vc_b = client(estate, "vc-a"), client(estate, "vc-b")
    try:
        about = vc_b.api.GetAbout(vcenter_pb2.GetAboutRequest())
        locator = vcenter_pb2.ServiceLocator(instance_uuid=about.instance_uuid, url=about.url, ssl_thumbprint=about.thumbprint)
        spec = vcenter_pb2.RelocateSpec(host="b1", datastore="ds-b", pool="cluster-b", service=locator)
        task: common_pb2.Task = vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec))
        return task
    finally:
        vc_a.close()
        vc_b.close()


def inventories_holding(estate: ProcessEstate, vm: str) -> list[str]:
    found = []
    for vcenter in ("vc-a", "vc-b"):
        vc = client(estate, vcenter)
        try:
            if vm in {v.name for v in vc.api.ListVms(vcenter_pb2.ListVmsRequest(), timeout=10).vms}:
                found.append(vcenter)
        finally:
            vc.close()
    return found


def journal_rows(state_dir: Path, vcenter: str) -> list[tuple[str, str]]:
    with sqlite3.connect(state_dir / "vcenters" / f"{vcenter}.db") as db:
        return db.execute("SELECT kind, state FROM journal").fetchall()


def settled_where(estate: ProcessEstate, vm: str, timeout: float = 30.0) -> str:
    """The one vCenter whose inventory holds `vm` once both journals are empty and the VM runs there;
    fails when that does not happen within `timeout`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        holders = inventories_holding(estate, vm)
        journals = journal_rows(estate.state_dir, "vc-a") + journal_rows(estate.state_dir, "vc-b")
        last = (holders, journals)
        if len(holders) == 1 and not journals:
            vc = client(estate, holders[0])
            try:
                memory = vc.emulator.GetGuestMemory(common_pb2.ObjectRef(name=vm), timeout=10)
            finally:
                vc.close()
            if memory.power_state == common_pb2.POWER_STATE_POWERED_ON:
                return holders[0]
        time.sleep(0.2)
    raise AssertionError(f"{vm} did not settle in one inventory within {timeout:.0f} s: (inventories, journal rows) = {last}")

"""No vSAN datastore key in logs, events, task results, the public API or any file of the state
directory (the inventory databases and their journals, the datastores, the key providers' stores and
the KMS's own), after hot and cold moves through encrypted vSAN datastores and a VM encrypted on one."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from estate_helpers import client_of
from vsan_estate import crypto, move, vsan_estate

from linkedmode.model.inventory import Datastore
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2
from linkedmode.vcenter.vsan_keys import VsanKeys


def forms(secret: bytes) -> list[bytes]:
    return [secret, secret[:32], secret[32:], secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret),
            base64.b64encode(secret)[:40]]


@pytest.fixture
def estate(tmp_path):
    with vsan_estate(tmp_path / "state") as running:
        yield running


def datastore_key(estate, vcenter: str, name: str) -> bytes:
    vc = estate.vcenters[vcenter].vcenter
    return VsanKeys(vc.state, vc.keys).key(vc.state.find(Datastore, name=name).moid)


def test_vsan_keys_are_nowhere_but_in_memory(estate, caplog):
    caplog.set_level(logging.DEBUG)
    for task in (move(estate, "vc-a", "hot-plain", "vc-b", "b1", "ds-b-vsan-enc"),
                 move(estate, "vc-a", "hot-encrypted", "vc-b", "b1", "ds-b-vsan-enc"),
                 move(estate, "vc-a", "cold", "vc-b", "b1", "ds-b-vsan-enc"),
                 crypto(estate, "vc-b", "cold", encrypt="nkp-vc-b"),
                 move(estate, "vc-b", "hot-plain", "vc-a", "a1", "ds-a-vsan-enc")):
        assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    secrets = [datastore_key(estate, "vc-a", "ds-a-vsan-enc"), datastore_key(estate, "vc-b", "ds-b-vsan-enc")]
    assert all(len(s) == 64 for s in secrets) and secrets[0] != secrets[1]

    said = [r.getMessage().encode() for r in caplog.records]
    for name in ("vc-a", "vc-b"):
        api = client_of(estate, name).api
        said += [e.SerializeToString() for e in api.QueryEvents(vcenter_pb2.EventFilter(limit=1000)).events]
        said += [t.SerializeToString() for t in api.ListTasks(vcenter_pb2.ListTasksRequest()).tasks]
        said += [d.SerializeToString() for d in api.ListDatastores(inventory_pb2.ListRequest()).datastores]
        said += [v.SerializeToString() for v in api.ListVms(vcenter_pb2.ListVmsRequest()).vms]
    files = [p for p in Path(estate.state_dir).rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.suffix == ".vmdk" for p in files)
    planted = Path(estate.state_dir) / "planted-for-the-search"     # the search finds a key where one is
    for form in forms(secrets[0]):
        planted.write_bytes(b"before " + form + b" after")
        assert [p for p in [*files, planted] if form in p.read_bytes()] == [planted]
    planted.unlink()
    for secret in secrets:
        for form in forms(secret):
            assert not [i for i, text in enumerate(said) if form in text]
            assert not [p for p in files if form in p.read_bytes()], f"a datastore key is in {[p for p in files if form in p.read_bytes()]}"

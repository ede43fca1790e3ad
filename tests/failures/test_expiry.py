"""Halves of a migration whose other side went away do not stay forever: a source host prepared but
never started, and a destination vCenter's arrival never committed, expire and wipe their keys."""

from __future__ import annotations

import time

import pytest
from migration_estate import migration_estate

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.invariant import keys_held
from linkedmode.model.inventory import Host, Vm
from linkedmode.v1 import host_agent_pb2
from linkedmode.vcenter import incoming as vcenter_incoming
from linkedmode.vcenter.destinations import arrival_of
from linkedmode.vcenter.host_client import vm_config
from linkedmode.vcenter.incoming import MigrationTarget
from linkedmode.vcenter.source_host import migration_spec


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


@pytest.fixture
def short_expiry_estate():
    """The migration estate, with host a70 dropping a prepared source after a second."""
    with migration_estate(host_timeouts={"a70": {"prepared_expiry": 1.0}}) as running:
        yield running


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def spec_for(vc, vm: Vm, keys: MigrationSecrets) -> host_agent_pb2.MigrationSpec:
    return migration_spec(vm_config(vm), keys.migration_id, keys, "a70", "b70", host_agent_pb2.MigrationSettings())


def test_a_source_prepared_but_never_started_expires(short_expiry_estate):
    estate = short_expiry_estate
    vc = estate.vcenters["vc-a"].vcenter
    vm = next(v for v in vc.state.all(Vm) if v.name == "opportunistic")
    a70 = next(h for h in vc.state.all(Host) if h.name == "a70")
    keys = MigrationSecrets.generate()
    vc.hosts.agent(a70).prepare_source(spec_for(vc, vm, keys), "127.0.0.1:9")
    keys.wipe()
    assert keys_held(estate) == 1
    assert wait_for(lambda: keys_held(estate) == 0 and not estate.hosts["a70"].migrations.snapshots())
    assert vm.instance_uuid in vc.hosts.agent(a70).running()   # the VM never stopped running
    assert estate.hosts["a70"].reaper.pending() == []


def test_an_arrival_never_committed_expires(estate, monkeypatch):
    monkeypatch.setattr(vcenter_incoming, "ARRIVAL_EXPIRY_SECONDS", 0.5)
    source, destination = estate.vcenters["vc-a"].vcenter, estate.vcenters["vc-b"].vcenter
    vm = next(v for v in source.state.all(Vm) if v.name == "busy-1")     # no disks to name
    keys = MigrationSecrets.generate()
    spec = spec_for(source, vm, keys)
    destination.incoming.prepare(keys.migration_id, arrival_of(source, vm, cross=True),
                                 MigrationTarget("b70", "ds-b", "cluster-b"), spec)
    keys.wipe()
    assert destination.incoming.pending() and destination.state.journal("arrival")
    assert wait_for(lambda: not destination.incoming.pending() and keys_held(estate) == 0)
    assert destination.state.journal("arrival") == []
    b70 = next(h for h in destination.state.all(Host) if h.name == "b70")
    assert destination.vmotion_slots.in_use(b70.moid) == 0

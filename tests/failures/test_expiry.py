"""Halves of a migration whose other side went away do not stay forever: a source host prepared but
never started, and a destination vCenter's arrival never committed, expire and wipe their keys."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from migration_estate import migration_estate

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.invariant import keys_held
from linkedmode.migration.admission import arrival_of
from linkedmode.migration.spec import MigrationSpec, MigrationTarget
from linkedmode.model.inventory import Host, Vm


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


def spec_for(vm: Vm, keys: MigrationSecrets) -> MigrationSpec:
    return MigrationSpec(keys.migration_id, vm, "a70", "b70", 0.5, 100.0, keys)


def test_a_source_prepared_but_never_started_expires(short_expiry_estate):
    estate = short_expiry_estate
    vc = estate.vcenters["vc-a"].vcenter
    vm = next(v for v in vc.state.all(Vm) if v.name == "opportunistic")
    a70 = next(h for h in vc.state.all(Host) if h.name == "a70")
    keys = MigrationSecrets.generate()
    vc.hosts.agent(a70).prepare_source(spec_for(vm, keys), "127.0.0.1:9")
    keys.wipe()
    assert keys_held(estate) == 1
    assert wait_for(lambda: keys_held(estate) == 0 and not estate.hosts["a70"].migrations.snapshots())
    assert vm.instance_uuid in vc.hosts.agent(a70).running()   # the VM never stopped running
    assert estate.hosts["a70"].reaper.pending() == []


def test_an_arrival_never_committed_expires(estate):
    source, destination = estate.vcenters["vc-a"].vcenter, estate.vcenters["vc-b"].vcenter
    destination.timeouts = replace(destination.timeouts, arrival_expiry=0.5)   # as `timeouts: {arrival_expiry: 0.5}` would
    vm = next(v for v in source.state.all(Vm) if v.name == "busy-1")     # no disks to name
    keys = MigrationSecrets.generate()
    arrival = arrival_of(source, vm, cross=True)
    assert destination.arrivals.reserve(keys.migration_id, arrival, MigrationTarget("b70", "ds-b", "cluster-b"))
    destination.arrivals.prepare(keys.migration_id, spec_for(vm, keys))
    keys.wipe()
    assert destination.arrivals.pending() and destination.state.journal("arrival")
    assert wait_for(lambda: not destination.arrivals.pending() and keys_held(estate) == 0)
    assert destination.state.journal("arrival") == []
    b70 = next(h for h in destination.state.all(Host) if h.name == "b70")
    assert destination.slots.in_use(b70.moid) == 0


def test_a_reservation_never_prepared_gives_its_slot_back(estate):
    source, destination = estate.vcenters["vc-a"].vcenter, estate.vcenters["vc-b"].vcenter
    destination.timeouts = replace(destination.timeouts, reservation_expiry=0.3)
    vm = next(v for v in source.state.all(Vm) if v.name == "busy-1")
    b70 = next(h for h in destination.state.all(Host) if h.name == "b70")
    assert destination.arrivals.reserve(77, arrival_of(source, vm, cross=True), MigrationTarget("b70", "ds-b", "cluster-b"))
    assert destination.slots.in_use(b70.moid) == 1 and not destination.state.journal("arrival")   # nothing journaled yet
    assert wait_for(lambda: not destination.arrivals.pending())
    assert destination.slots.in_use(b70.moid) == 0

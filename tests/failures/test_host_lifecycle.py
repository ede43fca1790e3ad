"""A host's waits run on its one reaper, and nothing of a migration outlives it or its host: the
expiry of a prepared source is cancelled once its page stream starts, and a host that stops wipes
the keys it still holds and leaves no thread behind."""

from __future__ import annotations

import gc
import socket
import threading
import time

import pytest
from estate_helpers import client_of, fault_rule
from migration_estate import migration_estate, to_vc_b, vm_names

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.invariant import keys_held, settled_invariant
from linkedmode.migration.spec import MigrationSpec
from linkedmode.model.inventory import Host, Vm
from linkedmode.model.migration import MigrationPhase
from linkedmode.v1 import common_pb2


def prepare_source(estate, vm_name: str = "opportunistic", destination: str = "127.0.0.1:9") -> int:
    """Prepares a source on a70 for a migration that never starts; returns its migration id."""
    vc = estate.vcenters["vc-a"].vcenter
    vm = next(v for v in vc.state.all(Vm) if v.name == vm_name)
    a70 = next(h for h in vc.state.all(Host) if h.name == "a70")
    keys = MigrationSecrets.generate()
    spec = MigrationSpec(keys.migration_id, vm, "a70", "b70", 0.5, 100.0, keys)
    vc.hosts.agent(a70).prepare_source(spec, destination)
    keys.wipe()
    return keys.migration_id


def threads_named(*prefixes: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.is_alive() and t.name.startswith(prefixes)]


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def short_expiry_estate():
    with migration_estate(host_timeouts={"a70": {"prepared_expiry": 1.5}}) as running:
        yield running


def test_a_migration_that_started_is_not_expired_however_long_it_takes(short_expiry_estate):
    estate = short_expiry_estate
    client_of(estate, "vc-a").emulator.AddFaultRule(
        fault_rule("precopy_round", "delay", part="a70", vm="opportunistic", delay_seconds=2.5, count=1))
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert task.migration.stream.duration_ms >= 2500     # longer than prepared_expiry, from prepare to the end
    assert "opportunistic" in vm_names(client_of(estate, "vc-b"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_the_expiry_of_a_source_is_cancelled_when_its_stream_starts():
    with migration_estate() as estate:    # the default prepared_expiry: 120 s
        task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
        assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
        assert estate.hosts["a70"].reaper.pending() == []


def test_a_source_prepared_on_a_host_that_stops_has_its_key_wiped_and_leaves_no_thread():
    with migration_estate() as estate:
        migration_id = prepare_source(estate)
        a70 = estate.hosts["a70"]
        assert a70.reaper.pending() == [f"prepared-expiry-{migration_id:016x}"]
        held = [o for o in gc.get_objects() if isinstance(o, MigrationSecrets) and o.migration_id == migration_id and not o.wiped]
        assert len(held) == 1 and keys_held(estate) == 1 and threads_named("a70-reaper")
        a70.stop()
        assert held[0].wiped                  # overwritten, not just dropped with the host
        assert a70.reaper.pending() == []
        assert threads_named("a70-reaper") == []


def test_a_host_that_crashes_mid_stream_leaves_no_migration_thread():
    with migration_estate() as estate:
        client_of(estate, "vc-a").emulator.AddFaultRule(fault_rule("stun", "kill", part="a70", vm="opportunistic", count=1))
        task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
        assert task.state == common_pb2.TASK_STATE_ERROR
        assert not estate.hosts["a70"].running
        assert wait_for(lambda: threads_named("vmotion-out-", "vmotion-in-", "a70-reaper") == []), \
            threads_named("vmotion-out-", "vmotion-in-", "a70-reaper")
        assert keys_held(estate) == 0


def test_a_stream_whose_caller_is_already_gone_does_not_start_the_migration():
    with migration_estate() as estate:
        migration_id = prepare_source(estate)
        migrations = estate.hosts["a70"].migrations
        assert list(migrations.migrate(migration_id, lambda callback: False)) == []
        assert [(s.migration_id, s.phase) for s in migrations.snapshots()] == [(migration_id, MigrationPhase.PREPARED)]


def test_a_stream_ends_as_soon_as_its_caller_goes_away():
    """The page stream stalls (its destination takes the connection and never answers); the caller
    going away still ends the stream at once, and the migration is the vCenter's to abort."""
    with migration_estate() as estate, socket.create_server(("127.0.0.1", 0)) as silent:
        migration_id = prepare_source(estate, destination="{}:{}".format(*silent.getsockname()[:2]))
        migrations = estate.hosts["a70"].migrations
        gone: list = []
        seen: list = []
        stream = migrations.migrate(migration_id, lambda callback: gone.append(callback) or True)
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        assert wait_for(lambda: len(gone) == 1)
        time.sleep(0.3)
        assert reader.is_alive()                 # nothing ends a stalled stream but its caller
        gone[0]()
        reader.join(5)
        assert not reader.is_alive()
        assert all(s.phase is not MigrationPhase.READY and not s.phase.ended for s in seen)
        migrations.abort(migration_id, "the vCenter went away")
        assert keys_held(estate) == 0

"""vMotion slots without hold-and-wait (row V8): a move takes its source and destination hosts' slots
together or waits, queued, for both; a move that stays on its host takes one. Tasks go queued ->
running -> success and never back (row V9). Threads do not pile up with migrations."""

from __future__ import annotations

import re
import threading
import time

import pytest
import yaml
from estate_helpers import client_of, wait_task
from migration_estate import locator_of

from linkedmode.estate import start_estate
from linkedmode.model.fault_rules import FaultAction, FaultRule
from linkedmode.model.inventory import Host
from linkedmode.model.migration import MigrationStep
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

VMS = 6   # more than a 1 GbE host's 4 slots
POOL_WORKER = re.compile(r"_\d+$")   # a worker of a bounded pool (a server's or a vCenter's tasks), made once and kept


def _vms(host: str, prefix: str) -> str:
    return "\n".join(f"              - {{name: {prefix}-{i}, host: {host}, memory_mb: 8, nics: [{{network: VM Network}}], "
                     f"disks: [{{datastore: {prefix}-ds1, capacity_mb: 1}}]}}" for i in range(1, VMS + 1))


TOPOLOGY = f"""
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters: [{{name: cluster-a, hosts: [{{name: s1, version: 7.0.3, vmotion: {{bandwidth: 1GbE}}}}]}}]
            datastores: [{{name: a-ds1}}, {{name: a-ds2}}]
            networks: [{{name: VM Network}}]
            vms:
{_vms("s1", "a")}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters: [{{name: cluster-b, hosts: [{{name: t1, version: 7.0.3, vmotion: {{bandwidth: 1GbE}}}}]}}]
            datastores: [{{name: b-ds1}}]
            networks: [{{name: VM Network}}]
            vms:
{_vms("t1", "b")}
"""


@pytest.fixture
def estate():
    with start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "slots-test")) as running:
        yield running


def slow_down(estate, vcenter: str, seconds: float) -> None:
    """Every move out of `vcenter` takes a moment while it holds its slots (no limit on how often)."""
    estate.vcenters[vcenter].vcenter.add_fault_rule(FaultRule(step=MigrationStep.SPEC_EXCHANGE, action=FaultAction.DELAY,
                                                              part=vcenter, count=0, delay_seconds=seconds))


def peak(estate, vcenter: str, host: str) -> int:
    vc = estate.vcenters[vcenter].vcenter
    return vc.slots.peak(next(h.moid for h in vc.state.all(Host) if h.name == host))


def watch_states(client, key: str, seen: list[int]) -> threading.Thread:
    def follow() -> None:
        for task in client.api.WaitTask(vcenter_pb2.GetTaskRequest(key=key), timeout=60):
            if not seen or seen[-1] != task.state:
                seen.append(task.state)
    thread = threading.Thread(target=follow)
    thread.start()
    return thread


TARGETS = {"vc-a": ("s1", "a-ds1", "cluster-a"), "vc-b": ("t1", "b-ds1", "cluster-b")}


def across(estate, client, vm: str, to: str) -> common_pb2.Task:
    host, datastore, pool = TARGETS[to]
    spec = vcenter_pb2.RelocateSpec(host=host, datastore=datastore, pool=pool, service=locator_of(estate, to))
    return client.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec))


def test_moves_that_stay_on_their_host_take_one_slot_and_all_succeed(estate):
    slow_down(estate, "vc-a", 0.3)
    vc_a = client_of(estate, "vc-a")
    started = time.monotonic()
    tasks = [vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=f"a-{i}"),
                                                               spec=vcenter_pb2.RelocateSpec(datastore="a-ds2")))
             for i in range(1, VMS + 1)]
    states: list[int] = []
    watcher = watch_states(vc_a, tasks[-1].key, states)
    done = [wait_task(vc_a, t) for t in tasks]
    watcher.join(10)
    assert all(t.state == common_pb2.TASK_STATE_SUCCESS for t in done), [t.error.message for t in done]
    assert time.monotonic() - started < 10           # no move waited out a timeout
    assert peak(estate, "vc-a", "s1") == 4          # one slot per move, the limit kept
    assert sum(1 for t in done if t.migration.queued_ms > 0) >= 2
    assert states[-1] == common_pb2.TASK_STATE_SUCCESS
    assert common_pb2.TASK_STATE_QUEUED not in states[states.index(common_pb2.TASK_STATE_RUNNING):]


def test_concurrent_swaps_between_two_vcenters_all_succeed(estate):
    """vc-a moves its VMs to vc-b while vc-b moves its own to vc-a: each move needs a slot on both hosts."""
    slow_down(estate, "vc-a", 0.2)
    slow_down(estate, "vc-b", 0.2)
    vc_a, vc_b = client_of(estate, "vc-a"), client_of(estate, "vc-b")
    tasks = []
    for i in range(1, VMS + 1):
        tasks.append((vc_a, across(estate, vc_a, f"a-{i}", "vc-b")))
        tasks.append((vc_b, across(estate, vc_b, f"b-{i}", "vc-a")))
    done = [wait_task(client, t) for client, t in tasks]
    assert all(t.state == common_pb2.TASK_STATE_SUCCESS for t in done), [t.error.message for t in done]
    names_a = {v.name for v in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
    names_b = {v.name for v in vc_b.api.ListVms(vcenter_pb2.ListVmsRequest()).vms}
    assert names_a == {f"b-{i}" for i in range(1, VMS + 1)} and names_b == {f"a-{i}" for i in range(1, VMS + 1)}
    assert peak(estate, "vc-a", "s1") <= 4 and peak(estate, "vc-b", "t1") <= 4


def new_threads(known: set[str]) -> list[str]:
    """Threads started since `known` was taken, other than the workers of bounded pools."""
    return sorted(f"{type(t).__name__} {t.name}" for t in threading.enumerate()
                  if t.name not in known and not POOL_WORKER.search(t.name))


def test_a_batch_of_migrations_leaves_no_thread_behind(estate):
    clients = {"vc-a": client_of(estate, "vc-a"), "vc-b": client_of(estate, "vc-b")}

    def batch(source: str, to: str) -> None:
        tasks = [across(estate, clients[source], f"a-{i}", to) for i in range(1, VMS + 1)]
        done = [wait_task(clients[source], t) for t in tasks]
        assert all(t.state == common_pb2.TASK_STATE_SUCCESS for t in done), [t.error.message for t in done]

    batch("vc-a", "vc-b")            # pools and channels reach their size
    batch("vc-b", "vc-a")
    time.sleep(0.5)
    names_before = {t.name for t in threading.enumerate()}
    batch("vc-a", "vc-b")
    batch("vc-b", "vc-a")
    deadline = time.monotonic() + 5
    while new_threads(names_before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert new_threads(names_before) == []


def test_a_queued_move_of_higher_priority_gets_the_next_slot(estate):
    """RelocateVM_Task's priority: with the host full, a high-priority move queued after a low one starts first."""
    slow_down(estate, "vc-a", 2.5)
    vc_a = client_of(estate, "vc-a")

    def queued(task: common_pb2.Task) -> bool:
        return vc_a.api.GetTask(vcenter_pb2.GetTaskRequest(key=task.key)).progress_detail.startswith("queued:")

    def move(i: int, priority: int) -> common_pb2.Task:
        return vc_a.api.RelocateVm(vcenter_pb2.RelocateVmRequest(
            vm=common_pb2.ObjectRef(name=f"a-{i}"), spec=vcenter_pb2.RelocateSpec(datastore="a-ds2"), priority=priority))

    running = []
    for i in range(1, 5):            # s1's 4 slots, for 2.5 s each, freed 0.3 s apart: one at a time
        running.append(move(i, common_pb2.MOVE_PRIORITY_DEFAULT))
        time.sleep(0.3)
    low = move(5, common_pb2.MOVE_PRIORITY_LOW)
    high = move(6, common_pb2.MOVE_PRIORITY_HIGH)
    deadline = time.monotonic() + 5
    while not (queued(low) and queued(high)):
        assert time.monotonic() < deadline, "the two moves never queued"
        time.sleep(0.02)
    assert all(vc_a.api.GetTask(vcenter_pb2.GetTaskRequest(key=t.key)).state == common_pb2.TASK_STATE_RUNNING for t in running)
    done = {t.key: wait_task(vc_a, t) for t in [*running, low, high]}
    assert all(t.state == common_pb2.TASK_STATE_SUCCESS for t in done.values()), [t.error.message for t in done.values()]
    started = lambda task: done[task.key].start_time.ToNanoseconds()  # noqa: E731
    assert started(high) <= started(low)
    assert done[low.key].migration.queued_ms > done[high.key].migration.queued_ms

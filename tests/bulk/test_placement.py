"""Where an evacuation puts each VM: the host with the most memory free that fits it, largest VMs first."""

from __future__ import annotations

from linkedmode.model.inventory import Vm
from linkedmode.model.settings import PowerState
from linkedmode.vcenter.placement import Candidate, DatastoreChoice, place

SHARED = (DatastoreChoice("shared-1", "shared", 100), DatastoreChoice("local-1", "local", 500))


def vm(name: str, memory_mb: int, on: bool = True) -> Vm:
    return Vm(moid=f"vm-{name}", name=name, memory_mb=memory_mb,
              power_state=PowerState.POWERED_ON if on else PowerState.POWERED_OFF)


def test_each_vm_goes_to_the_host_with_the_most_memory_free_after_the_ones_before_it() -> None:
    hosts = [Candidate("h1", "c", 1000, SHARED), Candidate("h2", "c", 700, SHARED)]
    plan, unplaced = place([vm("a", 400), vm("b", 500), vm("c", 300), vm("off", 4000, on=False)], hosts)
    assert [(p.name, p.host) for p in plan] == [("b", "h1"), ("a", "h2"), ("c", "h1"), ("off", "h2")]
    assert unplaced == {}
    assert (hosts[0].free_memory_mb, hosts[1].free_memory_mb) == (200, 300)   # a powered-off VM takes none


def test_a_vm_too_large_for_every_host_is_left_with_its_fault() -> None:
    plan, unplaced = place([vm("huge", 2000), vm("small", 10)], [Candidate("h1", "c", 1000, SHARED)])
    assert [p.name for p in plan] == ["small"]
    assert unplaced["vm-huge"].name == "InsufficientMemoryResourcesFault"
    assert unplaced["vm-huge"].message == "no host has 2000 MB of memory free for huge (the most free: 1000 MB)"


def test_disks_stay_on_a_datastore_the_host_mounts_else_a_shared_one_goes_before_a_larger_local_one() -> None:
    hosts = [Candidate("h1", "c", 1000, SHARED)]
    plan, _ = place([vm("a", 1), vm("b", 1)], hosts, keep={"vm-a": ("local-1",)})
    assert {p.name: p.datastore for p in plan} == {"a": "local-1", "b": "shared-1"}
    assert {p.pool for p in plan} == {"c"}


def test_a_host_without_datastores_takes_nothing() -> None:
    plan, unplaced = place([vm("a", 1)], [Candidate("bare", "c", 1000, ())])
    assert plan == [] and "vm-a" in unplaced

"""One rule for a host's free memory: its memory less its powered-on VMs and the live arrivals coming to it,
each VM counted once, and the three decisions that need it (a new VM's host, an evacuation's candidates,
an arrival's check) reading the same figure."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from linkedmode.migration.arrival_checks import ArrivalChecks
from linkedmode.migration.journal import ArrivalRow
from linkedmode.migration.spec import Arrival
from linkedmode.model.faults import InsufficientMemoryResourcesFault
from linkedmode.model.inventory import Cluster, Datacenter, Datastore, Host, Vm
from linkedmode.model.migration import MigrationPhase
from linkedmode.model.settings import PowerState
from linkedmode.vcenter.host_memory import free_memory_mb
from linkedmode.vcenter.placement import host_candidates
from linkedmode.vcenter.state import VCenterState
from linkedmode.vcenter.store import InventoryStore
from linkedmode.vcenter.vm_lifecycle import VmCreateSpec, VmLifecycle

ON, OFF = PowerState.POWERED_ON, PowerState.POWERED_OFF


def vm(name: str, host: str, memory_mb: int, power: PowerState = ON) -> Vm:
    return Vm(f"vm-{name}", name, instance_uuid=f"uuid-{name}", memory_mb=memory_mb, power_state=power, host=host,
              datacenter="dc-1")


def row(migration_id: int, moving: Vm, host: str, *, hot: bool = True) -> ArrivalRow:
    return ArrivalRow(migration_id, MigrationPhase.PREPARED, Arrival(moving, "vc-other", "esx-far", hot=hot),
                      moving, host)


@pytest.fixture
def state() -> Iterator[VCenterState]:
    """Two hosts of 4096 MB in one cluster, both mounting ds-1: h1 runs a (1024 MB), h2 runs b (512 MB)
    and holds c powered off (2048 MB)."""
    vc = VCenterState("vc-1", InventoryStore())
    vc.update(put=[
        Datacenter("dc-1", "dc"),
        Cluster("cl-1", "cluster", datacenter="dc-1", hosts=["host-1", "host-2"]),
        Host("host-1", "h1", datacenter="dc-1", cluster="cl-1", memory_mb=4096, datastores=["ds-1"]),
        Host("host-2", "h2", datacenter="dc-1", cluster="cl-1", memory_mb=4096, datastores=["ds-1"]),
        Datastore("ds-1", "ds-1", datacenter="dc-1", hosts=["host-1", "host-2"], capacity_mb=1000),
        vm("a", "host-1", 1024), vm("b", "host-2", 512), vm("c", "host-2", 2048, OFF),
    ])
    yield vc
    vc.store.close()


def test_a_host_has_its_memory_less_its_running_vms(state: VCenterState) -> None:
    assert free_memory_mb(state) == {"host-1": 3072, "host-2": 3584}      # c, powered off, takes none


def test_a_live_arrival_holds_memory_until_it_is_in_the_inventory_and_then_counts_once(state: VCenterState) -> None:
    coming = vm("d", "host-1", 1536)
    arrivals = [row(1, coming, "host-1")]
    assert free_memory_mb(state, arrivals)["host-1"] == 3072 - 1536        # reserved: held before it runs here
    state.update(put=[coming])                                             # committed: in the inventory, row not yet gone
    assert free_memory_mb(state, arrivals)["host-1"] == 3072 - 1536        # the same VM: counted once, not twice
    assert free_memory_mb(state, [row(2, vm("e", "host-2", 300), "host-2", hot=False)])["host-2"] == 3584   # cold: none


def test_the_vm_a_check_is_about_is_not_counted_against_itself(state: VCenterState) -> None:
    coming = vm("d", "host-1", 1536)
    assert free_memory_mb(state, [row(1, coming, "host-1")], ignore_uuid="uuid-d")["host-1"] == 3072
    assert free_memory_mb(state, ignore_uuid="uuid-a")["host-1"] == 4096


def checks(state: VCenterState, arrivals: list[ArrivalRow]) -> ArrivalChecks:
    return ArrivalChecks(cast(Any, SimpleNamespace(state=state)), lambda ignore: [r for r in arrivals if r.migration_id != ignore])


def lifecycle(state: VCenterState, arrivals: list[ArrivalRow]) -> VmLifecycle:
    unused = cast(Any, None)          # _host reads the inventory and the arrivals only
    return VmLifecycle(state, unused, unused, unused, unused, lambda: arrivals)


def test_placement_the_arrival_check_and_a_new_vm_agree_on_a_committed_arrival(state: VCenterState) -> None:
    """A hot arrival to h1 committed into the inventory (its row still held): every caller sees h1 with
    3072 - 1536 = 1536 MB free, where counting it twice would leave 0."""
    coming = vm("d", "host-1", 1536)
    state.update(put=[coming])
    arrivals = [row(1, coming, "host-1")]
    free = free_memory_mb(state, arrivals)
    assert free == {"host-1": 1536, "host-2": 3584}

    assert {c.name: c.free_memory_mb for c in host_candidates(state, arrivals)} == {"h1": 1536, "h2": 3584}

    host_1 = state.get("host-1", Host)
    checks(state, arrivals)._check_capacity(Arrival(vm("fits", "", 1536), "", "esx-far"), host_1, None)
    with pytest.raises(InsufficientMemoryResourcesFault) as refused:
        checks(state, arrivals)._check_capacity(Arrival(vm("big", "", 1537), "", "esx-far"), host_1, None)
    assert refused.value.message == "host h1 has 1536 MB of memory free; big needs 1537 MB"

    create = lifecycle(state, arrivals)
    datacenter, datastore = state.get("dc-1", Datacenter), state.get("ds-1", Datastore)
    assert create._host(VmCreateSpec("new", "ds-1", 1024, cluster="cluster"), datacenter, datastore).name == "h2"
    state.update(put=[vm("b", "host-2", 3096)])                            # h2: 1000 MB free, h1 still 1536
    assert create._host(VmCreateSpec("new", "ds-1", 1200, cluster="cluster"), datacenter, datastore).name == "h1"
    with pytest.raises(InsufficientMemoryResourcesFault) as none_fits:
        create._host(VmCreateSpec("new", "ds-1", 1537, cluster="cluster"), datacenter, datastore)
    assert none_fits.value.message == "no connected host of cluster that mounts ds-1 has 1537 MB free"


def test_a_new_vm_does_not_take_memory_an_arrival_holds(state: VCenterState) -> None:
    """Before, creating a VM ignored arrivals: h1 looked 3072 MB free while a 2560 MB arrival held most of it."""
    arrivals = [row(1, vm("d", "host-1", 2560), "host-1")]
    create = lifecycle(state, arrivals)
    datacenter, datastore = state.get("dc-1", Datacenter), state.get("ds-1", Datastore)
    state.update(put=[vm("b", "host-2", 3584)])                            # h2: 512 MB free
    with pytest.raises(InsufficientMemoryResourcesFault):
        create._host(VmCreateSpec("new", "ds-1", 1024, cluster="cluster"), datacenter, datastore)
    assert create._host(VmCreateSpec("new", "ds-1", 512, cluster="cluster"), datacenter, datastore).name in ("h1", "h2")

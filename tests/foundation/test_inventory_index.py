"""Finding an inventory object by name goes through an index that every change keeps current."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkedmode.model.faults import NotFound
from linkedmode.model.inventory import Host, Vm
from linkedmode.vcenter.state import VCenterState
from linkedmode.vcenter.store import InventoryStore


def test_find_by_name_follows_renames_deletes_and_reloads() -> None:
    state = VCenterState("vc-1", InventoryStore())
    state.update(put=[Vm("vm-1", "web"), Vm("vm-2", "db"), Host("host-3", "web")])
    assert state.find(Vm, name="web").moid == "vm-1" and state.find(Host, name="web").moid == "host-3"
    state.update(put=[replace(state.get("vm-1", Vm), name="web-renamed")])
    with pytest.raises(NotFound) as error:
        state.find(Vm, name="web")
    assert error.value.message == "vc-1 has no vm named 'web'"
    assert state.find(Vm, name="web-renamed").moid == "vm-1"
    state.update(delete=["vm-2"])
    with pytest.raises(NotFound):
        state.find(Vm, name="db")
    state.reload()
    assert state.find(Vm, name="web-renamed").moid == "vm-1" and state.find(Host, name="web").moid == "host-3"


def test_a_name_given_twice_finds_the_first_in_inventory_order() -> None:
    state = VCenterState("vc-1", InventoryStore())
    state.update(put=[Vm("vm-20", "twin"), Vm("vm-11", "twin")])
    assert state.find(Vm, name="twin").moid == state.all(Vm)[0].moid == "vm-11"
    state.update(delete=["vm-11"])
    assert state.find(Vm, name="twin").moid == "vm-20"

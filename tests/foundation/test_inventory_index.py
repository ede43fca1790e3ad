"""Finding an inventory object by name goes through an index that every change keeps current."""

from __future__ import annotations

import sys
import threading
import time
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


def test_a_reader_without_the_lock_never_misses_an_object_while_writers_change_it() -> None:
    """Reads by moid and by name take no lock (calls served on the event loop use them): a VM being
    rewritten, and a VM renamed back and forth under another name, are found at every moment."""
    state = VCenterState("vc-1", InventoryStore())
    state.update(put=[Vm("vm-1", "web"), Vm("vm-2", "db")])
    stop, misses, writes = threading.Event(), [], 0

    def read() -> None:
        while not stop.is_set():
            try:
                state.find(Vm, name="web")
                state.get("vm-1", Vm)
                state.find(Vm, moid="vm-2")
            except NotFound as missed:
                misses.append(missed.message)

    readers = [threading.Thread(target=read) for _ in range(2)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)     # threads switch between almost any two bytecodes: a window shows
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and writes < 3000:
            vm = state.get("vm-1", Vm)
            state.update(put=[replace(vm, num_cpu=1 + writes % 4)])                 # rewritten in place
            db = state.get("vm-2", Vm)
            state.update(put=[replace(db, name="db-renamed" if db.name == "db" else "db")])   # renamed
            writes += 1
    finally:
        stop.set()
        for reader in readers:
            reader.join(10)
        sys.setswitchinterval(interval)
    assert writes > 100 and misses == []

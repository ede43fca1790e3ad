"""MAC addresses a vCenter hands out: VMware's OUI 00:50:56, range 80:00:00-BF:FF:FF, with a per-vCenter
offset so that two vCenters rarely start at the same place. Never hands out one on the block list
(row X4) nor one a VM of the inventory holds."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable

from ..model.faults import InvalidState
from ..model.inventory import Vm
from .state import VCenterState

MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_RANGE = 0x400000   # 80:00:00 .. BF:FF:FF
NEXT_MAC = "next_mac"            # meta: the pool's counter
BLOCKED_MACS = "blocked_macs"    # meta: JSON list of MACs of VMs that left (VCenter.block_macs)


def vcenter_mac(instance_uuid: str, counter: int) -> str:
    offset = int.from_bytes(hashlib.sha256(instance_uuid.encode()).digest()[:3], "big") % _RANGE
    value = 0x800000 + (offset + counter) % _RANGE
    return "00:50:56:" + ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in (16, 8, 0))


class MacPool:
    """The vCenter's MAC allocator. Its counter lives in the state's meta, so a restarted vCenter goes
    on where it stopped, and each address is handed out once; seeding and VM creation share it."""

    def __init__(self, state: VCenterState) -> None:
        self._state = state
        self._lock = threading.Lock()

    def take(self, count: int, also_avoid: Iterable[str] = ()) -> list[str]:
        """`count` fresh addresses, the counter persisted before they are returned."""
        with self._lock:
            instance_uuid = self._state.meta("instance_uuid") or ""
            counter = int(self._state.meta(NEXT_MAC) or "0")
            avoid = set(json.loads(self._state.meta(BLOCKED_MACS) or "[]")) | set(also_avoid)
            avoid |= {mac for vm in self._state.all(Vm) for mac in vm.mac_addresses}
            macs: list[str] = []
            for _ in range(_RANGE):
                if len(macs) == count:
                    break
                mac = vcenter_mac(instance_uuid, counter)
                counter += 1
                if mac not in avoid:
                    macs.append(mac)
                    avoid.add(mac)
            if len(macs) < count:
                raise InvalidState(f"{self._state.name} has no MAC address left to hand out", object=self._state.name)
            self._state.update(meta={NEXT_MAC: str(counter)})
            return macs

"""MAC addresses a vCenter hands out: VMware's OUI 00:50:56, range 80:00:00-BF:FF:FF, with a per-vCenter
offset so that two vCenters rarely start at the same place. Never hands out one on the block list."""

from __future__ import annotations

import hashlib
import re

MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_RANGE = 0x400000   # 80:00:00 .. BF:FF:FF


def vcenter_mac(instance_uuid: str, counter: int) -> str:
    offset = int.from_bytes(hashlib.sha256(instance_uuid.encode()).digest()[:3], "big") % _RANGE
    value = 0x800000 + (offset + counter) % _RANGE
    return "00:50:56:" + ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in (16, 8, 0))

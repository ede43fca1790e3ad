"""What a host puts on its physical network for its VMs: after a vMotion switchover, the destination
host announces each of the VM's MAC addresses with a RARP request (row V7), as ESXi does, so that the
physical switches learn at once which port the VM is behind now.

The frame is real: an Ethernet broadcast of ethertype 0x8035 (RARP) carrying a "request reverse"
(opcode 3) whose sender and target hardware addresses are the VM's MAC, protocol addresses unset,
padded to Ethernet's 60-byte minimum. The host keeps the latest announcements in a bounded log.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass

from ..model.faults import InvalidArgument

log = logging.getLogger(__name__)

BROADCAST = b"\xff" * 6
ETHERTYPE_RARP = 0x8035
HARDWARE_ETHERNET = 1
PROTOCOL_IPV4 = 0x0800
RARP_REQUEST_REVERSE = 3
MIN_FRAME_BYTES = 60            # Ethernet's minimum frame, without its checksum
ANNOUNCEMENTS_KEPT = 1024       # the host's log keeps the latest this many


def mac_bytes(mac: str) -> bytes:
    """"00:50:56:3f:00:01" as 6 bytes."""
    parts = mac.split(":")
    try:
        if len(parts) != 6 or any(len(p) != 2 for p in parts):
            raise ValueError(mac)
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise InvalidArgument(f"{mac!r} is not a MAC address (six hex pairs separated by colons)", argument="mac_address") from None


def rarp_frame(mac: str) -> bytes:
    """The RARP announcement of ``mac``: Ethernet broadcast from the MAC, RARP request reverse for itself."""
    own = mac_bytes(mac)
    ethernet = BROADCAST + own + struct.pack("!H", ETHERTYPE_RARP)
    rarp = struct.pack("!HHBBH", HARDWARE_ETHERNET, PROTOCOL_IPV4, 6, 4, RARP_REQUEST_REVERSE) + own + bytes(4) + own + bytes(4)
    frame = ethernet + rarp
    return frame + bytes(MIN_FRAME_BYTES - len(frame))


@dataclass(frozen=True)
class Announcement:
    time: float                 # seconds since the epoch
    instance_uuid: str
    vm_name: str
    mac_address: str
    migration_id: int
    frame: bytes


class HostNetwork:
    """The frames one host sent for its VMs, the latest ANNOUNCEMENTS_KEPT of them."""

    def __init__(self, kept: int = ANNOUNCEMENTS_KEPT) -> None:
        self._sent: deque[Announcement] = deque(maxlen=kept)
        self._lock = threading.Lock()

    def announce(self, instance_uuid: str, vm_name: str, macs: tuple[str, ...], migration_id: int) -> list[Announcement]:
        """Sends one RARP frame per MAC of a VM that now runs here; returns what was sent. It comes after
        the switchover committed, so it never fails: a MAC that is not one is left out, and logged."""
        sent = []
        for mac in macs:
            try:
                frame = rarp_frame(mac)
            except InvalidArgument as fault:
                log.warning("%s: no RARP announcement for %s: %s", vm_name, instance_uuid, fault)
                continue
            sent.append(Announcement(time.time(), instance_uuid, vm_name, mac, migration_id, frame))
        with self._lock:
            self._sent.extend(sent)
        return sent

    def announcements(self) -> list[Announcement]:
        with self._lock:
            return list(self._sent)

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()

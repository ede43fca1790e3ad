"""Checking what the estate did besides its inventory: the RARP frames a host announced after a move
(row V7) and what a vCenter's performance history holds of a VM (row X5). Each check returns the
reasons it failed, in words a reader of the scenario recognises (empty: it held)."""

from __future__ import annotations

import time

from google.protobuf.timestamp_pb2 import Timestamp

from ..client import Client
from ..host.announce import rarp_frame
from ..model.faults import NotFound
from ..v1 import common_pb2, inventory_pb2
from .model import AnnouncementExpectation, PerfExpectation

PERF_WAIT = 30.0        # at most this long for the samples a perf step wants


def seconds(stamp: Timestamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def rarp_problem(frame: bytes, mac: str) -> str:
    """What is wrong with ``frame`` as the RARP announcement of ``mac`` ("" when nothing is): it must be,
    byte for byte, the broadcast RARP request reverse of that MAC, padded to Ethernet's minimum."""
    if frame == rarp_frame(mac):
        return ""
    return f"not the RARP announcement of {mac} ({len(frame)} bytes, ethertype {frame[12:14].hex()}, opcode {frame[20:22].hex()})"


def announcement_problems(client: Client, expect: AnnouncementExpectation, since: float,
                          last_move: common_pb2.Task | None) -> list[str]:
    """``since``: when the scenario began; ``last_move``: the VM's last migrate task in it, if any. What
    the host sent is read from the start of that move (the scenario's start when there was none): a VM
    that came back to a host it had left is judged on its last arrival."""
    _, vm = client.get_vm(expect.vm)
    macs = [nic.mac_address for nic in vm.nics]
    start = seconds(last_move.start_time) if last_move is not None else since
    sent = [a for a in client.announcements(expect.host) if a.instance_uuid == vm.instance_uuid and a.time >= start]
    if not expect.announced:
        return [f"expected {expect.host} to announce nothing for {expect.vm}, it sent {_listed(sent)}"] if sent else []
    problems = []
    if sorted(a.mac_address for a in sent) != sorted(macs):
        problems.append(f"expected {expect.host} to announce {', '.join(macs) or 'no MAC'} once each, it sent {_listed(sent)}")
    for announcement in sent:
        wrong = rarp_problem(announcement.frame, announcement.mac_address)
        if wrong:
            problems.append(f"the frame {expect.host} sent for {announcement.mac_address} is {wrong}")
    return problems


def _listed(sent: list[inventory_pb2.NetworkAnnouncement]) -> str:
    return ", ".join(a.mac_address for a in sent) or "nothing"


def perf_problems(client: Client, expect: PerfExpectation, last_move: common_pb2.Task | None) -> list[str]:
    if (expect.before_last_move is not None or expect.left_behind) and last_move is None:
        return [f"{expect.vm} has not moved in this scenario: there is no last move to compare with"]
    moid = last_move.entity if expect.left_behind and last_move is not None else ""
    deadline = time.monotonic() + PERF_WAIT
    while True:
        try:
            found = client.perf(expect.vm, vcenter=expect.vcenter, moid=moid)
        except NotFound as fault:
            return [f"{expect.vcenter} holds no performance history of {expect.vm}: {fault.message}"]
        if len(found.samples) >= expect.samples or time.monotonic() > deadline:
            break
        time.sleep(found.interval_seconds / 2 or 0.1)
    problems = []
    if len(found.samples) < expect.samples:
        problems.append(f"expected {expect.samples} samples of {expect.vm} on {expect.vcenter}, "
                        f"it holds {len(found.samples)} after {PERF_WAIT:g} s")
    if last_move is None:
        return problems
    began, ended = seconds(last_move.start_time), seconds(last_move.complete_time)
    older = [s for s in found.samples if s.time < began]
    if expect.before_last_move is True and not older:
        problems.append(f"expected samples of {expect.vm} from before its last move on {expect.vcenter}, it holds none")
    if expect.before_last_move is False and older:
        problems.append(f"expected no sample of {expect.vm} from before its last move on {expect.vcenter}, it holds {len(older)}")
    if expect.left_behind:
        if not found.departed:
            problems.append(f"expected {expect.vm} to have left {expect.vcenter}, it is still there as {found.vm}")
        if not older or any(s.time > ended for s in found.samples):
            problems.append(f"expected {expect.vcenter} to hold {expect.vm}'s samples from before it left, and none after")
    return problems

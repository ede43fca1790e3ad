"""Fault injection as data: rules matched on a step of the migration sequence, a part, a VM,
probability and count, that make that step fail, stall, lose its connection or lose its process.

Each part (vCenter, host) owns one FaultInjector and asks it at every named step; rules arrive
through the Emulator service. Nothing here knows gRPC.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .faults import HostCommunication, InvalidArgument, PartKilled, all_faults

# The steps of one migration, in order, and the kind of part a rule without `part` goes to. A rule
# naming a part goes to that part: the source vCenter also takes spec_exchange (before it sends the
# spec), commit (before it asks the destination to commit) and source_cleanup (after the source host
# dropped its copy, before the inventories change); the destination vCenter takes resume (when it
# takes the VM into its inventory).
STEPS = {
    "spec_exchange": "vcenter",          # the destination vCenter receives the migration spec
    "key_push_destination": "host",      # the destination host receives the spec with the key
    "key_push_source": "host",           # the source host receives the spec with the key
    "precopy_round": "host",             # the source host ends a pre-copy round
    "stun": "host",                      # the source host is about to stun the guest
    "final_pages": "host",               # the last pages crossed; the destination verified its copy
    "commit": "vcenter",                 # the destination vCenter commits the switchover
    "resume": "host",                    # the destination host resumes the VM
    "source_cleanup": "host",            # the source host drops its copy
}
ACTIONS = ("error", "delay", "drop_connection", "kill", "corrupt_frame", "replay_frame")
FRAME_ACTIONS = ("corrupt_frame", "replay_frame")   # taken by the source host on its page stream


@dataclass(frozen=True)
class FaultRule:
    step: str
    action: str = "error"
    part: str = ""                 # the part's name ("vc-b", "esx-b1"); empty: any part
    vm: str = ""                   # the VM's name; empty: any VM
    probability: float = 1.0
    count: int = 1                 # fires at most this many times; 0: no limit
    delay_seconds: float = 0.0     # for "delay" (and before any other action)
    fault: str = "SystemError"     # the fault an "error" raises, by vSphere name
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fired: int = 0

    def check(self) -> FaultRule:
        if self.step not in STEPS:
            raise InvalidArgument(f"step {self.step!r} is not one of {', '.join(STEPS)}", argument="step")
        if self.action not in ACTIONS:
            raise InvalidArgument(f"action {self.action!r} is not one of {', '.join(ACTIONS)}", argument="action")
        if not 0.0 <= self.probability <= 1.0:
            raise InvalidArgument(f"probability {self.probability} is not between 0 and 1", argument="probability")
        if self.count < 0:
            raise InvalidArgument(f"count {self.count} is negative", argument="count")
        if not 0.0 <= self.delay_seconds <= 3600:
            raise InvalidArgument(f"delay_seconds {self.delay_seconds} is not between 0 and 3600", argument="delay_seconds")
        if self.action in FRAME_ACTIONS and self.step != "precopy_round":
            raise InvalidArgument(f"{self.action} tampers with the page stream: its step is precopy_round", argument="step")
        if self.action == "error" and self.fault not in all_faults():
            raise InvalidArgument(f"fault {self.fault!r} is not a fault this emulator knows", argument="fault")
        return self

    def matches(self, step: str, part: str, vm: str, frame_actions: bool = False) -> bool:
        return (self.step == step and self.part in ("", part) and self.vm in ("", vm)
                and (self.action in FRAME_ACTIONS) == frame_actions
                and (self.count == 0 or self.fired < self.count))


class FaultInjector:
    """The rules of one part, asked at every step the part takes."""

    def __init__(self, part: str, *, kill: Callable[[], None] | None = None, seed: int | None = None) -> None:
        self.part = part
        self._kill = kill
        self._rules: dict[str, FaultRule] = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> FaultRule:
        rule = rule.check()
        with self._lock:
            self._rules[rule.id] = rule
        return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules.values())

    def clear(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules.clear()
        return count

    def at(self, step: str, vm: str = "") -> None:
        """Called at a step: does what a matching rule says (nothing when none matches)."""
        rule = self._fire(step, vm)
        if rule is None:
            return
        if rule.delay_seconds:
            time.sleep(rule.delay_seconds)
        where = f"injected at {step} on {self.part}" + (f" for {vm}" if vm else "")
        if rule.action == "error":
            raise all_faults()[rule.fault](f"{where} (rule {rule.id})", object=vm or self.part, injected=rule.id)
        if rule.action == "drop_connection":
            raise HostCommunication(f"connection dropped: {where} (rule {rule.id})", object=self.part, injected=rule.id)
        if rule.action == "kill":
            if self._kill is not None:
                self._kill()
            raise PartKilled(f"{self.part} was killed: {where} (rule {rule.id})", object=self.part, injected=rule.id)

    def frame_tamper(self, vm: str = "") -> str | None:
        """Asked by a source host as it prepares a page stream: "corrupt_frame", "replay_frame" or None."""
        rule = self._fire("precopy_round", vm, frame_actions=True)
        return rule.action if rule else None

    def _fire(self, step: str, vm: str, frame_actions: bool = False) -> FaultRule | None:
        with self._lock:
            for rule in self._rules.values():
                if rule.matches(step, self.part, vm, frame_actions) and self._random.random() < rule.probability:
                    fired = replace(rule, fired=rule.fired + 1)
                    self._rules[rule.id] = fired
                    return fired
        return None

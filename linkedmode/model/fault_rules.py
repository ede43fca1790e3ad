"""Fault injection as data: rules matched on a step of the migration sequence, a part, a VM,
probability and count, that make that step fail, stall, lose its connection or lose its process.
The steps are `MigrationStep`s; `MigrationStep.part_kind` says which kind of part a rule without
`part` goes to.

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
from enum import StrEnum

from .faults import HostCommunication, InvalidArgument, PartKilled, all_faults
from .migration import MigrationStep


class FaultAction(StrEnum):
    """What a rule does at its step."""

    ERROR = "error"                        # the step fails with the vSphere fault the rule names
    DELAY = "delay"                        # the step only waits delay_seconds
    DROP_CONNECTION = "drop_connection"    # the step fails as a lost connection would
    KILL = "kill"                          # the part's process dies there
    CORRUPT_FRAME = "corrupt_frame"        # (precopy_round, source host) one bit of a page frame flips
    REPLAY_FRAME = "replay_frame"          # (precopy_round, source host) a page frame crosses twice

    @property
    def tampers_frames(self) -> bool:
        """Taken by the source host on its page stream rather than at a step."""
        return self in (FaultAction.CORRUPT_FRAME, FaultAction.REPLAY_FRAME)


def step_named(text: str) -> MigrationStep:
    """A step as a user writes it (topology YAML, command line)."""
    try:
        return MigrationStep(text)
    except ValueError:
        raise InvalidArgument(f"step {text!r} is not one of {', '.join(MigrationStep)}", argument="step") from None


def action_named(text: str) -> FaultAction:
    """An action as a user writes it (topology YAML, command line)."""
    try:
        return FaultAction(text)
    except ValueError:
        raise InvalidArgument(f"action {text!r} is not one of {', '.join(FaultAction)}", argument="action") from None


@dataclass(frozen=True)
class FaultRule:
    step: MigrationStep
    action: FaultAction = FaultAction.ERROR
    part: str = ""                 # the part's name ("vc-b", "esx-b1"); empty: any part
    vm: str = ""                   # the VM's name; empty: any VM
    probability: float = 1.0
    count: int = 1                 # fires at most this many times; 0: no limit
    delay_seconds: float = 0.0     # for "delay" (and before any other action)
    fault: str = "SystemError"     # the fault an "error" raises, by vSphere name
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fired: int = 0

    def check(self) -> FaultRule:
        if not 0.0 <= self.probability <= 1.0:
            raise InvalidArgument(f"probability {self.probability} is not between 0 and 1", argument="probability")
        if self.count < 0:
            raise InvalidArgument(f"count {self.count} is negative", argument="count")
        if not 0.0 <= self.delay_seconds <= 3600:
            raise InvalidArgument(f"delay_seconds {self.delay_seconds} is not between 0 and 3600", argument="delay_seconds")
        if self.action.tampers_frames and self.step is not MigrationStep.PRECOPY_ROUND:
            raise InvalidArgument(f"{self.action} tampers with the page stream: its step is precopy_round", argument="step")
        if self.action is FaultAction.ERROR and self.fault not in all_faults():
            raise InvalidArgument(f"fault {self.fault!r} is not a fault this emulator knows", argument="fault")
        return self

    def matches(self, step: MigrationStep, part: str, vm: str, frame_actions: bool = False) -> bool:
        return (self.step == step and self.part in ("", part) and self.vm in ("", vm)
                and self.action.tampers_frames == frame_actions
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

    def at(self, step: MigrationStep, vm: str = "") -> None:
        """Called at a step: does what a matching rule says (nothing when none matches)."""
        rule = self._fire(step, vm)
        if rule is None:
            return
        if rule.delay_seconds:
            time.sleep(rule.delay_seconds)
        where = f"injected at {step} on {self.part}" + (f" for {vm}" if vm else "")
        if rule.action is FaultAction.ERROR:
            raise all_faults()[rule.fault](f"{where} (rule {rule.id})", object=vm or self.part, injected=rule.id)
        if rule.action is FaultAction.DROP_CONNECTION:
            raise HostCommunication(f"connection dropped: {where} (rule {rule.id})", object=self.part, injected=rule.id)
        if rule.action is FaultAction.KILL:
            if self._kill is not None:
                self._kill()
            raise PartKilled(f"{self.part} was killed: {where} (rule {rule.id})", object=self.part, injected=rule.id)

    def frame_tamper(self, vm: str = "") -> FaultAction | None:
        """Asked by a source host as it prepares a page stream: CORRUPT_FRAME, REPLAY_FRAME or None."""
        rule = self._fire(MigrationStep.PRECOPY_ROUND, vm, frame_actions=True)
        return rule.action if rule else None

    def _fire(self, step: MigrationStep, vm: str, frame_actions: bool = False) -> FaultRule | None:
        with self._lock:
            for rule in self._rules.values():
                if rule.matches(step, self.part, vm, frame_actions) and self._random.random() < rule.probability:
                    fired = replace(rule, fired=rule.fired + 1)
                    self._rules[rule.id] = fired
                    return fired
        return None

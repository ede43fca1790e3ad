"""Answers to reads of one object, each built once per version of the object.

The state never changes an object: every change puts a new one in its place (VCenterState.update). An
answer built from an object therefore stays right for as long as that very object is the one the state
holds, and a read that finds it again can send the answer it already built (for a VM, building the
message cost more than the rest of the call). Only the event loop reads through these, so they take no lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ..model.inventory import ManagedObject

Obj = TypeVar("Obj", bound=ManagedObject)
Answer = TypeVar("Answer")

KEPT = 100_000     # answers kept at most; past that the store starts again (objects removed leave theirs)


class Answers(Generic[Obj, Answer]):
    def __init__(self, build: Callable[[Obj], Answer]) -> None:
        self._build = build
        self._kept: dict[str, tuple[Obj, Answer]] = {}

    def __call__(self, obj: Obj) -> Answer:
        """The answer for `obj`: the one built from this very object, or a new one. Callers must not change it."""
        kept = self._kept.get(obj.moid)
        if kept is not None and kept[0] is obj:
            return kept[1]
        answer = self._build(obj)
        if len(self._kept) >= KEPT:
            self._kept.clear()
        self._kept[obj.moid] = (obj, answer)
        return answer

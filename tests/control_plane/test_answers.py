"""One-object answers are built once per version of the object (vcenter/answers.py): the state puts a new
object on every change, so the answer kept is the one built from the very object read."""

from __future__ import annotations

from dataclasses import replace

from linkedmode.model.inventory import Datastore
from linkedmode.vcenter.answers import Answers


def test_the_same_object_gets_the_answer_already_built_and_a_changed_one_a_new_answer() -> None:
    built: list[str] = []

    def build(d: Datastore) -> str:
        built.append(d.name)
        return f"{d.name} {d.capacity_mb}"

    answers = Answers(build)
    first = Datastore(moid="datastore-1", name="ds", capacity_mb=100)
    assert answers(first) == "ds 100" and answers(first) == "ds 100"
    assert built == ["ds"]
    changed = replace(first, capacity_mb=200)
    assert answers(changed) == "ds 200"
    assert built == ["ds", "ds"]
    equal_but_new = replace(changed)          # equal fields, another object: built again, never guessed
    assert answers(equal_but_new) == "ds 200" and len(built) == 3

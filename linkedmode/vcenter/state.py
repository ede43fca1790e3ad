"""The state of one vCenter: its inventory, events and tasks, changed only through `update`.

`update` is the one path every change takes: it writes the objects and events to SQLite in one
transaction, swaps them into memory, and wakes every watcher (task waits, event streams). Objects are
replaced, never mutated in place, so a reader always holds a consistent snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from ..model.events import Event
from ..model.faults import InvalidArgument, NotFound
from ..model.inventory import MOID_PREFIX, ManagedObject
from ..model.tasks import Task
from ..model.validation import required
from .store import InventoryStore, JournalEntry

if TYPE_CHECKING:
    from ..rpc.watch import ChangeFeed

T = TypeVar("T", bound=ManagedObject)


class VCenterState:
    def __init__(self, name: str, store: InventoryStore) -> None:
        self.name = name
        self.store = store
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._objects: dict[str, ManagedObject] = {}
        # (kind, name) -> moids: find by name without a scan. Each set is replaced, never changed in
        # place, so a reader may take one without the lock (a dict read is atomic) while a writer works.
        self._named: dict[tuple[str, str], frozenset[str]] = {}
        self._take(store.objects())
        self._tasks: dict[str, Task] = {}
        self._last_event_key = store.last_event_key()
        self._closed = False

    # -- the one path ----------------------------------------------------------------------------

    def update(
        self,
        *,
        put: Iterable[ManagedObject] = (),
        delete: Iterable[str] = (),
        events: Iterable[Event] = (),
        tasks: Iterable[Task] = (),
        meta: dict[str, str] | None = None,
        journal: Iterable[JournalEntry] = (),
        journal_done: Iterable[tuple[str, int]] = (),
    ) -> list[Event]:
        put, delete, events, tasks = list(put), list(delete), list(events), list(tasks)
        with self._lock:
            posted = []
            for event in events:
                self._last_event_key += 1
                posted.append(replace(event, key=self._last_event_key, chain_id=event.chain_id or self._last_event_key))
            self.store.apply(put, delete, posted, meta, journal, journal_done)
            for obj in put:      # replaced in place, so a reader without the lock never misses the object
                replaced = self._objects.get(obj.moid)
                self._objects[obj.moid] = obj
                self._name(obj)
                if replaced is not None and (replaced.kind, replaced.name) != (obj.kind, obj.name):
                    self._unname(replaced)
            for moid in delete:
                self._forget(moid)
            for task in tasks:
                previous = self._tasks.get(task.key)
                self._tasks[task.key] = replace(task, version=(previous.version + 1) if previous else 1)
            self.changed.notify_all()
            return posted

    def _take(self, objects: Iterable[ManagedObject]) -> None:
        """Both maps built aside and then swapped in: a reader sees the old ones or the new ones."""
        taken = {o.moid: o for o in objects}
        named: dict[tuple[str, str], set[str]] = {}
        for obj in taken.values():
            named.setdefault((obj.kind, obj.name), set()).add(obj.moid)
        self._objects, self._named = taken, {key: frozenset(moids) for key, moids in named.items()}

    def _name(self, obj: ManagedObject) -> None:
        key = (obj.kind, obj.name)
        self._named[key] = self._named.get(key, frozenset()) | {obj.moid}

    def _unname(self, obj: ManagedObject) -> None:
        key = (obj.kind, obj.name)
        others = self._named.get(key, frozenset()) - {obj.moid}
        if others:
            self._named[key] = others
        else:
            self._named.pop(key, None)

    def _forget(self, moid: str) -> None:
        old = self._objects.pop(moid, None)
        if old is not None:
            self._unname(old)

    def change_task(self, key: str, **changes: object) -> Task:
        """Read-modify-write of one task, atomic against every other change."""
        with self._lock:
            self.update(tasks=[replace(self.task(key), **changes)])  # type: ignore[arg-type]
            return self.task(key)

    def next_moid(self, kind: str) -> str:
        """A fresh managed object id ("vm-42"), never reused by this vCenter."""
        return self.next_moids(kind, 1)[0]

    def next_moids(self, kind: str, count: int) -> list[str]:
        """``count`` fresh managed object ids of one kind, reserved in one write."""
        with self._lock:
            counter = int(self.store.meta("next_moid") or "1")
            self.store.apply(meta={"next_moid": str(counter + count)})
        prefix = MOID_PREFIX[kind]
        if prefix.endswith("-c"):
            return [f"{prefix}{n}" for n in range(counter, counter + count)]
        return [f"{prefix}-{n}" for n in range(counter, counter + count)]

    def reload(self) -> None:
        """Takes the store's content as the truth again (after a wipe and reseed)."""
        with self._lock:
            self._take(self.store.objects())
            self._tasks.clear()
            self._last_event_key = self.store.last_event_key()
            self.changed.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.changed.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- reading ---------------------------------------------------------------------------------

    def all(self, cls: type[T]) -> list[T]:
        with self._lock:
            found = [o for o in self._objects.values() if isinstance(o, cls)]
        return sorted(found, key=lambda o: (o.name, o.moid))

    def get(self, moid: str, cls: type[T]) -> T:
        obj = self._objects.get(moid)
        if not isinstance(obj, cls):
            raise NotFound(f"{self.name} has no {cls.kind} {moid!r}", object=moid)
        return obj

    def find(self, cls: type[T], moid: str = "", name: str = "") -> T:
        """By moid when given, else by name (ObjectRef). Takes no lock: it never waits for a writer."""
        if moid:
            return self.get(moid, cls)
        if not name:
            raise InvalidArgument(f"name a {cls.kind} by moid or name", argument="ref")
        found = [o for m in self._named.get((cls.kind, name), ()) if isinstance(o := self._objects.get(m), cls)]
        if found:       # names may repeat: the first in the order of all(), as a scan would find it
            return min(found, key=lambda o: o.moid)
        raise NotFound(f"{self.name} has no {cls.kind} named {name!r}", object=name)

    def resolve(self, cls: type[T], ref: str) -> T:
        """One string that is a moid ("host-12", "domain-c3") or a name, as RelocateSpec and list filters give."""
        prefix = MOID_PREFIX[cls.kind]
        is_moid = ref.startswith(prefix if prefix.endswith("-c") else f"{prefix}-")
        return self.find(cls, moid=ref if is_moid else "", name="" if is_moid else ref)

    def meta(self, key: str) -> str | None:
        return self.store.meta(key)

    def journal(self, kind: str) -> list[JournalEntry]:
        return self.store.journal(kind)

    # -- tasks and events ------------------------------------------------------------------------

    def task(self, key: str) -> Task:
        task = self._tasks.get(required("key", key))
        if task is None:
            raise NotFound(f"{self.name} has no task {key!r}", object=key)
        return task

    def tasks(self) -> list[Task]:
        with self._lock:
            return sorted(self._tasks.values(), key=lambda t: t.queue_time, reverse=True)

    def events(self, **query: object) -> list[Event]:
        return self.store.events(**query)  # type: ignore[arg-type]

    async def watch_task(self, key: str, changes: ChangeFeed, poll: float = 1.0) -> AsyncIterator[Task]:
        """Yields the task now and at every change, ending once it is done. Waits on the event loop."""
        seen = -1
        while True:
            change = changes.next_change()
            task = self.task(key)
            if task.version != seen:
                seen = task.version
                yield task
            if task.state.done or self._closed:
                return
            await changes.wait(change, poll)

    async def watch_events(self, *, after_key: int, vm: str, types: list[str], changes: ChangeFeed,
                           poll: float = 1.0) -> AsyncIterator[Event]:
        """Yields the matching events after `after_key`, then each new one, until the state closes."""
        batch_size = 500
        while not self._closed:
            change = changes.next_change()
            seen_up_to = self._last_event_key
            batch = self.store.events(after_key=after_key, vm=vm, types=types, limit=batch_size)
            for event in batch:
                after_key = event.key
                yield event
            if len(batch) == batch_size:
                continue
            after_key = max(after_key, seen_up_to)   # the rest up to there did not match
            if self._last_event_key <= after_key:
                await changes.wait(change, poll)

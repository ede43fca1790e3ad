"""A vCenter's inventory and events in SQLite: one file in the state directory, or ":memory:".

Written only through VCenterState.update, one transaction per change. Keys are never written here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model.events import Event
from ..model.inventory import KINDS, ManagedObject

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (moid TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (key INTEGER PRIMARY KEY, type TEXT NOT NULL, vm TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_vm ON events (vm);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (kind TEXT NOT NULL, migration_id TEXT NOT NULL, state TEXT NOT NULL,
                                    data TEXT NOT NULL, PRIMARY KEY (kind, migration_id));
"""


@dataclass(frozen=True)
class JournalEntry:
    """One in-flight migration as a vCenter records it: "outgoing" at the source, "arrival" at the
    destination. Never holds the key."""

    kind: str
    migration_id: int
    state: str
    data: dict[str, Any]


class InventoryStore:
    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reading ---------------------------------------------------------------------------------

    def objects(self) -> list[ManagedObject]:
        with self._lock:
            rows = self._db.execute("SELECT kind, data FROM objects").fetchall()
        return [KINDS[kind].from_row(json.loads(data)) for kind, data in rows]

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def last_event_key(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(key), 0) FROM events").fetchone()[0])

    def journal(self, kind: str) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute("SELECT migration_id, state, data FROM journal WHERE kind = ?", (kind,)).fetchall()
        return [JournalEntry(kind, int(mid, 16), state, json.loads(data)) for mid, state, data in rows]

    def events(self, *, after_key: int = 0, vm: str = "", types: Iterable[str] = (), limit: int = 1000) -> list[Event]:
        sql = "SELECT data FROM events WHERE key > ?"
        args: list[Any] = [after_key]
        if vm:
            sql += " AND vm = ?"
            args.append(vm)
        types = list(types)
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            args += types
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Event.from_row(json.loads(data)) for (data,) in rows]

    # -- writing ---------------------------------------------------------------------------------

    def apply(
        self,
        put: Iterable[ManagedObject] = (),
        delete: Iterable[str] = (),
        events: Iterable[Event] = (),
        meta: dict[str, str] | None = None,
        journal: Iterable[JournalEntry] = (),
        journal_done: Iterable[tuple[str, int]] = (),
    ) -> None:
        """One transaction: all of it is written, or none."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO objects (moid, kind, data) VALUES (?, ?, ?)",
                    [(o.moid, o.kind, json.dumps(o.to_row())) for o in put],
                )
                self._db.executemany("DELETE FROM objects WHERE moid = ?", [(m,) for m in delete])
                self._db.executemany(
                    "INSERT INTO events (key, type, vm, data) VALUES (?, ?, ?, ?)",
                    [(e.key, e.type, e.vm, json.dumps(e.to_row())) for e in events],
                )
                self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list((meta or {}).items()))
                self._db.executemany(
                    "INSERT OR REPLACE INTO journal (kind, migration_id, state, data) VALUES (?, ?, ?, ?)",
                    [(j.kind, f"{j.migration_id:016x}", j.state, json.dumps(j.data)) for j in journal],
                )
                self._db.executemany("DELETE FROM journal WHERE kind = ? AND migration_id = ?",
                                     [(kind, f"{mid:016x}") for kind, mid in journal_done])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def wipe(self) -> None:
        with self._lock:
            self._db.executescript("DELETE FROM objects; DELETE FROM events; DELETE FROM meta; DELETE FROM journal;")

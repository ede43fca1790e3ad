"""The saved forms of a migration: the rows a vCenter's journal keeps while one is in flight.

"outgoing" at the source (its phase PREPARED, COMMITTING or SWITCHED), "arrival" at the destination
(PREPARED or COMMITTED). Written through VCenterState.update with the rest of each change. Never the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

from ..model.inventory import Vm
from ..model.migration import MigrationPhase
from ..vcenter.store import JournalEntry
from .spec import Arrival, SourceNetwork

OUTGOING = "outgoing"
ARRIVAL = "arrival"


@dataclass(frozen=True)
class OutgoingRow:
    """The source vCenter's record of one migration."""

    migration_id: int
    phase: MigrationPhase
    vm: str                     # moid here
    name: str
    instance_uuid: str
    source_host: str            # moid here
    destination_vcenter: str
    destination_host: str       # name there
    remote: bool
    hot: bool
    disk_files: tuple[str, ...] = ()      # files here of the disks that change datastore: removed once moved
    destination_datacenter: str = ""
    chain_id: int = 0                     # the migration's first event here (row V14)

    def at(self, phase: MigrationPhase) -> OutgoingRow:
        return replace(self, phase=phase)

    def entry(self) -> JournalEntry:
        data = {k: v for k, v in self.__dict__.items() if k not in ("migration_id", "phase")}
        data["disk_files"] = list(self.disk_files)
        return JournalEntry(OUTGOING, self.migration_id, self.phase.value, data)

    @classmethod
    def of(cls, entry: JournalEntry) -> OutgoingRow:
        data = dict(entry.data)
        data["disk_files"] = tuple(data.get("disk_files", ()))
        return cls(entry.migration_id, MigrationPhase(entry.state), **data)


@dataclass(frozen=True)
class ArrivalRow:
    """The destination vCenter's record of one migration coming in."""

    migration_id: int
    phase: MigrationPhase
    arrival: Arrival
    vm: Vm                      # as it will be here after the commit
    host: str                   # moid of the destination host here
    disk_files: tuple[str, ...] = ()      # the files this arrival made here (removed if it is undone)

    def at(self, phase: MigrationPhase) -> ArrivalRow:
        return replace(self, phase=phase)

    def entry(self) -> JournalEntry:
        a = self.arrival
        data: dict[str, Any] = {
            "arrival": {"vm": a.vm.to_row(), "source_vcenter": a.source_vcenter, "source_host": a.source_host,
                        "disk_datastores": list(a.disk_datastores), "nic_networks": list(a.nic_networks),
                        "hot": a.hot, "encrypted": a.encrypted, "disk_paths": list(a.disk_paths), "chain_id": a.chain_id,
                        "nic_sources": [dataclasses.asdict(n) for n in a.nic_sources], "user": a.user},
            "vm": self.vm.to_row(), "host": self.host, "disk_files": list(self.disk_files),
        }
        return JournalEntry(ARRIVAL, self.migration_id, self.phase.value, data)

    @classmethod
    def of(cls, entry: JournalEntry) -> ArrivalRow:
        a = dict(entry.data["arrival"])
        arrival = Arrival(Vm.from_row(a.pop("vm")), a["source_vcenter"], a["source_host"], tuple(a["disk_datastores"]),
                          tuple(a["nic_networks"]), a["hot"], a["encrypted"], tuple(a.get("disk_paths", ())),
                          a.get("chain_id", 0), tuple(SourceNetwork(**n) for n in a.get("nic_sources", ())), a.get("user", ""))
        return cls(entry.migration_id, MigrationPhase(entry.state), arrival, Vm.from_row(entry.data["vm"]),
                   entry.data["host"], tuple(entry.data.get("disk_files", ())))

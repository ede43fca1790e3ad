"""Events, with vSphere's type names. Never carry key material."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    type: str
    message: str
    key: int = 0                      # given when posted
    created_time: float = field(default_factory=time.time)
    user: str = ""
    vm: str = ""
    vm_name: str = ""
    host: str = ""
    datacenter: str = ""
    task: str = ""
    arguments: dict[str, str] = field(default_factory=dict)
    chain_id: int = 0                 # the key of the first event of the same operation (itself when 0 at posting)

    def to_row(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(**row)


VM_STARTING = "VmStartingEvent"
VM_POWERED_ON = "VmPoweredOnEvent"
VM_STOPPING = "VmStoppingEvent"
VM_POWERED_OFF = "VmPoweredOffEvent"
VM_RECONFIGURED = "VmReconfiguredEvent"
VM_REGISTERED = "VmRegisteredEvent"
TASK_EVENT = "TaskEvent"
VM_BEING_HOT_MIGRATED = "VmBeingHotMigratedEvent"
VM_BEING_MIGRATED = "VmBeingMigratedEvent"
VM_HOT_MIGRATING_WITH_ENCRYPTION = "com.vmware.vc.vm.VmHotMigratingWithEncryptionEvent"
VM_MIGRATED = "VmMigratedEvent"
VM_FAILED_MIGRATE = "VmFailedMigrateEvent"

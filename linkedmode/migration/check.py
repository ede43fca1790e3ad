"""CheckRelocate_Task (row V11): the errors and warnings a relocate would meet, from the same admission
path as RelocateVm (the spec, the ServiceLocator, the destination's checks, the encryption decision),
without a task, a slot, a key or a journal row."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.faults import Fault, MigrationFeatureNotSupported
from ..model.inventory import Vm
from ..model.settings import MigrateEncryption
from .admission import Admission, admit, check_request, destination_for
from .arrivals import Arrivals
from .ports import VCenterParts
from .spec import RelocateRequest


@dataclass(frozen=True)
class RelocateCheck:
    errors: list[Fault] = field(default_factory=list)
    warnings: list[Fault] = field(default_factory=list)
    admission: Admission | None = None
    vcenter: str = ""


def check_relocate(vc: VCenterParts, arrivals: Arrivals, vm: Vm, request: RelocateRequest) -> RelocateCheck:
    try:
        check_request(request)
        destination = destination_for(vc, arrivals, request)
        try:
            admission = admit(vc, vm, request, destination)
        finally:
            destination.close()
    except Fault as fault:
        return RelocateCheck(errors=[fault])
    return RelocateCheck(warnings=_warnings(admission), admission=admission, vcenter=destination.vcenter)


def _warnings(a: Admission) -> list[Fault]:
    """What goes ahead but not as the VM's setting asks: a plaintext fallback, a cold copy in the clear."""
    d = a.decision
    if d.fell_back:
        return [MigrationFeatureNotSupported(f"{a.vm.name} would move in plaintext: {d.reason}", object=a.vm.moid)]
    if not a.arrival.hot and d.asked == MigrateEncryption.REQUIRED and not a.vm.encrypted and a.vm.disks:
        return [MigrationFeatureNotSupported(f"{a.vm.name} is powered off: its disks would cross in the clear (NFC); "
                                             "encrypt the VM to protect them (row D3)", object=a.vm.moid)]
    return []

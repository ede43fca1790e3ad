"""linkedmode.client: a Python client of an emulated estate, over the same mutual-TLS API any client uses.

    from linkedmode.client import connect, InvalidPowerState

    with connect(".linkedmode") as lm:                      # the state directory of `linkedmode up`
        task = lm.relocate("app-required", to_host="esx-b1", to_vcenter="vc-b",
                           on_progress=lambda t: print(t.progress, t.progress_detail))
        print(task.migration.encrypted, task.migration.stream.downtime_ms)
        try:
            lm.set_migrate_encryption("app-required", "disabled")
        except InvalidPowerState as fault:                  # every vSphere fault is a class under Fault
            print(fault.name, fault.message)
        for vcenter, event in lm.events(vm="app-required"):
            print(vcenter, event.type)
"""

from ..model.faults import *  # noqa: F403  # every vSphere fault class, by name, for `except InvalidPowerState:`
from ..model.faults import Fault, all_faults
from .connection import Endpoints, NotRunning, VCenterClient, connect_host, connect_vcenter, credential_from_files
from .domain import Client, Found, connect, connect_with_certificates
from .faults import fault_class, faults_raised, task_fault
from .relocate import Placement, choose_placement, describe_result, how_it_crossed, relocate_spec, run_relocate, service_locator
from .tasks import Progress, wait_task

__all__ = [
    "Client", "Endpoints", "Fault", "Found", "NotRunning", "Placement", "Progress", "VCenterClient", "all_faults",
    "choose_placement", "connect", "connect_host", "connect_vcenter", "connect_with_certificates", "credential_from_files",
    "describe_result", "fault_class", "faults_raised", "how_it_crossed", "relocate_spec", "run_relocate",
    "service_locator", "task_fault", "wait_task", *all_faults(),
]

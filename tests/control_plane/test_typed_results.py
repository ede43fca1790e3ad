"""A migration's words and results on the wire: every phase crosses as the proto enum member of its
name (not a string), and a relocate's result reaches a `--json` reader with its numbers as numbers."""

from __future__ import annotations

import pytest

from linkedmode.cli.output import to_plain
from linkedmode.model.migration import MigrationPhase, MigrationResult, StreamFigures
from linkedmode.model.settings import MigrateEncryption
from linkedmode.model.tasks import BulkResult, Task, TaskState, VmOutcome
from linkedmode.v1 import host_agent_pb2
from linkedmode.vcenter import translate

FIGURES = StreamFigures(encrypted=True, rounds=3, bytes_sent=5_000_000_000, pages_sent=1_220_703, zero_pages=17,
                        duration_ms=1250.5, max_throttle=0.25, downtime_ms=3.5, disk_bytes=1 << 33)
RESULT = MigrationResult(vm="vm-42", vcenter="vc-b", host="esx-b1", mode_asked=MigrateEncryption.OPPORTUNISTIC,
                         encrypted=True, fell_back=False, reason="both hosts can encrypt", hot=True,
                         migration_id=0xFEDCBA9876543210, disks_moved=2, queued_ms=12.5, stream=FIGURES)


@pytest.mark.parametrize("phase", list(MigrationPhase))
def test_each_phase_crosses_the_wire_as_its_enum_member(phase: MigrationPhase) -> None:
    wire = translate.phase_to_proto(phase)
    expected = "MIGRATION_PHASE_UNSPECIFIED" if phase == MigrationPhase.UNKNOWN else f"MIGRATION_PHASE_{phase.name}"
    assert host_agent_pb2.MigrationPhase.Name(wire) == expected
    assert translate.phase_from_proto(wire) is phase


def test_every_proto_phase_has_its_domain_word() -> None:
    assert {translate.phase_from_proto(n) for n in host_agent_pb2.MigrationPhase.values()} == set(MigrationPhase)


def test_a_relocate_result_prints_its_numbers_as_numbers() -> None:
    task = Task("task-vc-a-1", "VirtualMachine.relocate", "vm-1", "app", state=TaskState.SUCCESS, result=RESULT)
    plain = to_plain(translate.task(task))["migration"]

    assert plain["migration_id"] == 0xFEDCBA9876543210 and isinstance(plain["migration_id"], int)
    assert plain["disks_moved"] == 2 and plain["queued_ms"] == 12.5 and plain["hot"] is True
    assert plain["mode_asked"] == "MIGRATE_ENCRYPTION_OPPORTUNISTIC"
    stream = plain["stream"]
    assert stream["bytes_sent"] == 5_000_000_000 and isinstance(stream["bytes_sent"], int)
    assert stream["pages_sent"] == 1_220_703 and stream["disk_bytes"] == 1 << 33 and stream["rounds"] == 3
    assert stream["duration_ms"] == 1250.5 and stream["downtime_ms"] == 3.5 and stream["max_throttle"] == 0.25
    assert stream["mbps"] == pytest.approx(FIGURES.mbps)
    assert not [k for k, v in stream.items() if isinstance(v, str)]


def test_a_result_of_a_bulk_task_prints_its_moves_numbers_as_numbers() -> None:
    task = Task("task-vc-a-2", "HostSystem.enterMaintenanceMode", "host-1", "esx-1", state=TaskState.SUCCESS,
                result=BulkResult((VmOutcome("vm-42", "app", migration=RESULT, task="task-vc-a-3"),)))
    (moved,) = to_plain(translate.task(task))["bulk"]["vms"]
    assert moved["migration"]["migration_id"] == 0xFEDCBA9876543210 and moved["migration"]["stream"]["bytes_sent"] == 5_000_000_000

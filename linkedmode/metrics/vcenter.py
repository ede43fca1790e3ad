"""A vCenter's metrics, read from its state at each scrape: the migrations it started (by state, by
the VM's migrate_encryption setting, and whether what crossed was encrypted), their bytes, rounds,
downtime and SDPS throttling, the arrivals it holds, and the vMotion slots in use per host.

Nothing is counted on the side: the tasks are the record, so the metrics never disagree with them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from ..migration.journal import ArrivalRow
from ..migration.slots import VMotionSlots
from ..model.faults import NotFound
from ..model.inventory import Host, Vm
from ..model.migration import MigrationResult
from ..model.tasks import Task, TaskState
from ..vcenter.state import VCenterState

RELOCATE = "VirtualMachine.relocate"
DOWNTIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def histogram(name: str, documentation: str, values: list[float], buckets: tuple[float, ...]) -> HistogramMetricFamily:
    cumulative = [(str(bound), float(sum(1 for v in values if v <= bound))) for bound in buckets]
    return HistogramMetricFamily(name, documentation, buckets=[*cumulative, ("+Inf", float(len(values)))],
                                 sum_value=sum(values))


def transit(result: MigrationResult | None) -> str:
    if result is None:
        return "none"
    return "encrypted" if result.encrypted else "plaintext"


class VCenterCollector(Collector):
    def __init__(self, state: VCenterState, slots: VMotionSlots, arrivals: Callable[[], list[ArrivalRow]]) -> None:
        self._state = state
        self._slots = slots
        self._arrivals = arrivals

    def _mode(self, task: Task) -> str:
        """The VM's migrate_encryption: as the move read it, else as the VM (still here) has it now."""
        if isinstance(task.result, MigrationResult):
            return task.result.mode_asked.value
        try:
            return self._state.get(task.entity, Vm).migrate_encryption.value
        except NotFound:   # the VM is gone (a failed move of a VM destroyed since)
            return "unknown"

    def collect(self) -> Iterator[Metric]:
        state = self._state
        moves = [t for t in state.tasks() if t.description_id == RELOCATE]
        ended = CounterMetricFamily("linkedmode_migrations_ended", "migrations this vCenter started that ended, by outcome, "
                                    "the VM's migrate_encryption and what crossed", labels=["state", "mode", "transit"])
        flying = GaugeMetricFamily("linkedmode_migrations_in_flight", "migrations this vCenter started that have not ended: "
                                   "queued for vMotion slots or running", labels=["state", "mode"])
        counts: dict[tuple[str, ...], int] = {}
        for task in moves:
            result = task.result if isinstance(task.result, MigrationResult) else None
            key = (task.state.value, self._mode(task)) + ((transit(result),) if task.state.done else ())
            counts[key] = counts.get(key, 0) + 1
        for key, count in sorted(counts.items()):
            (ended if len(key) == 3 else flying).add_metric(list(key), count)
        yield ended
        yield flying
        results = [t.result for t in moves if t.state == TaskState.SUCCESS and isinstance(t.result, MigrationResult)]
        streams = [r.stream for r in results if r.stream is not None]
        yield CounterMetricFamily("linkedmode_migration_bytes", "bytes the page streams of this vCenter's migrations sent "
                                  "(memory and disks)", value=sum(s.bytes_sent + s.disk_bytes for s in streams))
        yield CounterMetricFamily("linkedmode_migration_rounds", "pre-copy rounds of this vCenter's migrations",
                                  value=sum(s.rounds for s in streams))
        yield CounterMetricFamily("linkedmode_migration_fallbacks", "opportunistic migrations that crossed in plaintext",
                                  value=sum(1 for r in results if r.fell_back))
        yield CounterMetricFamily("linkedmode_migrations_throttled", "migrations whose guest SDPS slowed down",
                                  value=sum(1 for s in streams if s.max_throttle > 0))
        yield histogram("linkedmode_migration_downtime_seconds", "switchover downtime of live migrations",
                        [s.downtime_ms / 1e3 for s in streams], DOWNTIME_BUCKETS)
        yield histogram("linkedmode_migration_max_throttle", "the most SDPS slowed each migration's guest (0..1)",
                        [s.max_throttle for s in streams], (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0))
        yield GaugeMetricFamily("linkedmode_arrivals_in_flight", "migrations into this vCenter it holds (reserved or prepared)",
                                value=len(self._arrivals()))
        in_use = GaugeMetricFamily("linkedmode_vmotion_slots_in_use", "vMotion slots in use per host", labels=["host"])
        limit = GaugeMetricFamily("linkedmode_vmotion_slots_limit", "concurrent vMotions allowed per host", labels=["host"])
        peak = GaugeMetricFamily("linkedmode_vmotion_slots_peak", "the most vMotions each host ran at once", labels=["host"])
        for host in sorted(state.all(Host), key=lambda h: h.name):
            in_use.add_metric([host.name], self._slots.in_use(host.moid))
            limit.add_metric([host.name], host.max_concurrent_vmotions)
            peak.add_metric([host.name], self._slots.peak(host.moid))
        yield in_use
        yield limit
        yield peak
        maintenance = GaugeMetricFamily("linkedmode_hosts_in_maintenance", "hosts in or entering maintenance mode")
        maintenance.add_metric([], sum(1 for h in state.all(Host) if h.in_maintenance_mode))
        yield maintenance

"""A host's metrics, read at each scrape: the migrations it takes part in by direction and phase, the
migration keys it holds now (each is wiped when its migration ends), bytes sent by the streams under
way, how much SDPS slows its guests now, and its VMs by power state."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..host.migrations import HostMigrations
from ..host.state import HostState


class HostCollector(Collector):
    def __init__(self, host: HostState, migrations: Callable[[], HostMigrations | None]) -> None:
        self._host = host
        self._migrations = migrations

    def collect(self) -> Iterator[Metric]:
        vms = GaugeMetricFamily("linkedmode_host_vms", "VMs registered on this host, by power state", labels=["power_state"])
        counts: dict[str, int] = {}
        for vm in self._host.vms():
            counts[vm.power_state.value] = counts.get(vm.power_state.value, 0) + 1
        for power, count in sorted(counts.items()):
            vms.add_metric([power], count)
        yield vms
        migrations = self._migrations()
        snapshots = migrations.snapshots() if migrations is not None else []
        phases = GaugeMetricFamily("linkedmode_host_migrations", "migrations this host takes part in, by phase", labels=["phase"])
        by_phase: dict[str, int] = {}
        for snapshot in snapshots:
            by_phase[snapshot.phase.value] = by_phase.get(snapshot.phase.value, 0) + 1
        for phase, count in sorted(by_phase.items()):
            phases.add_metric([phase], count)
        yield phases
        yield GaugeMetricFamily("linkedmode_host_migration_keys_live", "migration keys this host holds now",
                                value=migrations.keys_held() if migrations is not None else 0)
        yield GaugeMetricFamily("linkedmode_host_stream_bytes_sent", "bytes sent so far by the page streams leaving this host",
                                value=sum(s.bytes_sent for s in snapshots))
        yield GaugeMetricFamily("linkedmode_host_sdps_throttle", "the most SDPS slows a guest leaving this host now (0..1)",
                                value=max((s.throttle for s in snapshots if not s.phase.ended), default=0.0))

"""linkedmode bench stream: a VM's memory migrated between two host processes on loopback, encrypted
and in the clear, alternating, through the HostAgent calls a vCenter makes; beside it the bare
transport probe, in the same run.

Every figure is the median of the runs: MB/s are bytes on the wire per second of migration (10^6).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..crypto.domain_pki import Pki, ensure_pki
from ..crypto.identity import Identity
from ..crypto.secrets import MigrationSecrets
from ..migration.page_stream import run_page_stream
from ..migration.spec import MigrationSpec
from ..model.faults import NotFound
from ..model.inventory import Host, Vm
from ..model.settings import PowerState
from ..topology import load_topology
from ..vcenter.host_client import HostAgentClient, HostConnections
from .host_processes import HostProcess
from .transport import probe

TOPOLOGY = """
sso_domains:
  - name: bench.local
    vcenters:
      - name: vc-bench
        version: 7.0.3
        datacenters:
          - name: dc
            clusters:
              - name: cluster
                hosts:
                  - {name: esx-1, version: 7.0.3, memory_mb: 1048576}
                  - {name: esx-2, version: 7.0.3, memory_mb: 1048576}
            datastores: [{name: ds}]
"""


@dataclass
class Run:
    encrypted: bool
    bytes_sent: int
    duration_ms: float
    downtime_ms: float
    rounds: int
    max_throttle: float = 0.0

    @property
    def MBps(self) -> float:
        return self.bytes_sent / self.duration_ms / 1e3


@dataclass
class BenchSettings:
    memory_mb: int = 1024
    dirty_rate_mbps: float = 0.0
    working_set_mb: int = 0
    runs: int = 3


class StreamBench:
    def __init__(self, settings: BenchSettings, state_dir: Path, topology: str = TOPOLOGY) -> None:
        """`topology`: two hosts esx-1 and esx-2 under vCenter vc-bench of bench.local (TOPOLOGY by default)."""
        self.settings = settings
        topology_path = state_dir / "bench-topology.yaml"
        topology_path.write_text(topology)
        ensure_pki(state_dir / "pki", load_topology(topology_path))
        self.processes = [HostProcess(topology_path, state_dir, name) for name in ("esx-1", "esx-2")]
        credential = Pki(state_dir / "pki").credential(Identity("bench.local", "vcenter", "vc-bench"))
        self.connections = HostConnections(credential)
        self.hosts = [Host(f"host-{i}", p.name, agent_address=p.address) for i, p in enumerate(self.processes, 1)]
        self.vm = Vm("vm-1", "bench-vm", instance_uuid=str(uuid.uuid4()), memory_mb=settings.memory_mb,
                     power_state=PowerState.POWERED_ON, dirty_rate_mbps=settings.dirty_rate_mbps,
                     working_set_mb=settings.working_set_mb)
        self.where = 0

    def agent(self, index: int) -> HostAgentClient:
        return self.connections.agent(self.hosts[index])

    def power_on(self) -> None:
        agent = self.agent(self.where)
        agent.register(self.vm)
        agent.power_on(self.vm)
        agent.write_guest_memory(self.vm, random_fraction=1.0)

    def migrate(self, encrypted: bool, via: Callable[[str], str] = lambda address: address) -> Run:
        """One migration to the other host; `via` may route the page stream elsewhere (a tap, in tests)."""
        source, destination = self.agent(self.where), self.agent(1 - self.where)
        keys = MigrationSecrets.generate() if encrypted else None
        migration_id = keys.migration_id if keys else int.from_bytes(uuid.uuid4().bytes[:8], "big")
        spec = MigrationSpec(migration_id, self.vm, source.host.name, destination.host.name, 0.5, 100.0, keys)
        try:
            address = via(destination.prepare_destination(spec))
            _, outcome = run_page_stream(source, spec, address, on_progress=lambda _: None, commit=lambda: "",
                                         migration_timeout=3600, switchover_timeout=110)
            with contextlib.suppress(NotFound):    # NotFound: the arrival already ended
                destination.complete(migration_id)  # returns once the VM runs there
        finally:
            spec.wipe()
        self.where = 1 - self.where
        figures = outcome.figures
        assert figures is not None, "a completed migration reports its figures"
        return Run(encrypted, figures.bytes_sent, figures.duration_ms, figures.downtime_ms, figures.rounds, figures.max_throttle)

    def close(self) -> None:
        self.connections.close()
        for process in self.processes:
            process.stop()


def run_bench(settings: BenchSettings, progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    runs: list[Run] = []
    transport: list[float] = []
    payload = memoryview(os.urandom(settings.memory_mb << 20))   # the same bytes the guest holds: random
    with tempfile.TemporaryDirectory(prefix="linkedmode-bench-") as state_dir:
        bench = StreamBench(settings, Path(state_dir))
        try:
            started = time.perf_counter()
            bench.power_on()
            progress(f"{settings.memory_mb} MB of random guest memory on {bench.hosts[0].name} "
                     f"({time.perf_counter() - started:.1f} s)")
            for i in range(settings.runs):
                for encrypted in (True, False):
                    run = bench.migrate(encrypted)
                    runs.append(run)
                    progress(f"run {i + 1}: {'encrypted' if encrypted else 'plaintext':<9} {run.MBps:8.1f} MB/s  "
                             f"{run.duration_ms:7.0f} ms  downtime {run.downtime_ms:6.1f} ms  {run.rounds} rounds")
                transport.append(probe(payload))
                progress(f"run {i + 1}: transport {transport[-1]:8.1f} MB/s")
        finally:
            bench.close()
    return summarise(settings, runs, transport)


def summarise(settings: BenchSettings, runs: list[Run], transport: list[float]) -> dict[str, Any]:
    encrypted = [r for r in runs if r.encrypted]
    plaintext = [r for r in runs if not r.encrypted]
    median = statistics.median
    summary = {
        "memory_mb": settings.memory_mb, "dirty_rate_mbps": settings.dirty_rate_mbps, "runs": settings.runs,
        "encrypted_MBps": round(median(r.MBps for r in encrypted), 1),
        "plaintext_MBps": round(median(r.MBps for r in plaintext), 1),
        "transport_MBps": round(median(transport), 1),
        "encrypted_ms": round(median(r.duration_ms for r in encrypted), 1),
        "plaintext_ms": round(median(r.duration_ms for r in plaintext), 1),
        "downtime_ms": round(median(r.downtime_ms for r in runs), 1),
        "encrypted_downtime_ms": round(median(r.downtime_ms for r in encrypted), 1),
        "rounds": median(r.rounds for r in runs),
    }
    summary["encrypted_over_transport"] = round(summary["encrypted_MBps"] / summary["transport_MBps"], 3)
    summary["encrypted_time_over_plaintext"] = round(summary["encrypted_ms"] / summary["plaintext_ms"], 3)
    return summary

"""An estate whose every vCenter and host is its own OS process (`linkedmode up --processes`).

The topology is written to `STATE_DIR/topology.yaml` with a free port given to every part that asked
for any (port 0), the PKI is made as for an estate in one process, the KMS of each Standard Key
Provider is started (a process of its own, as in one process), then the supervisor starts the hosts,
then the vCenters, each with `linkedmode serve PART --topology STATE_DIR/topology.yaml` (and `--kms
NAME=ADDRESS` for the KMS a vCenter uses).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .crypto.domain_pki import CA_FOLDER, ensure_pki
from .crypto.files import private_folder, write_private
from .estate import ENDPOINTS_FILE, endpoints_document, launch_kms
from .kms.process import KmsProcess
from .supervisor import Supervisor
from .topology import load_topology
from .topology.addresses import placed_topology_text
from .topology.spec import Topology

PLACED_TOPOLOGY = "topology.yaml"


@dataclass
class ProcessEstate:
    topology: Topology
    topology_file: Path
    state_dir: Path
    supervisor: Supervisor
    ca_dir: Path | None = None
    kms: dict[str, KmsProcess] = field(default_factory=dict)

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def ca_root(self) -> Path:
        return self.ca_dir if self.ca_dir is not None else self.state_dir / CA_FOLDER

    def info(self, kind: str, name: str) -> dict[str, Any]:
        """What part `kind:name` said when it last started (address, pid, ...)."""
        return self.supervisor.part(f"{kind}:{name}").info

    def endpoints(self) -> dict[str, Any]:
        """Where each part listens, in the shape of `Estate.endpoints` (what client commands read)."""
        return endpoints_document(self.topology, self.pki_dir, lambda name: self.info("vcenter", name),
                                  lambda name: self.info("host", name))

    def stop(self) -> None:
        self.supervisor.stop()
        for kms in self.kms.values():
            kms.stop()
        (self.state_dir / ENDPOINTS_FILE).unlink(missing_ok=True)

    def __enter__(self) -> ProcessEstate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parts_in_start_order(topology: Topology) -> list[list[str]]:
    hosts = [f"host:{h.name}" for _, vc in topology.vcenters() for h in vc.hosts()]
    return [hosts, [f"vcenter:{vc.name}" for _, vc in topology.vcenters()]]


def start_process_estate(topology_text: str, state_dir: Path, *, ca_dir: Path | None = None, restart: bool = False,
                         report: Callable[[str], None] = lambda line: None) -> ProcessEstate:
    """Places the topology's ports, makes the PKI, and starts every part in a process of its own."""
    state_dir = private_folder(Path(state_dir))
    topology_file = state_dir / PLACED_TOPOLOGY
    write_private(topology_file, placed_topology_text(topology_text).encode())
    topology = load_topology(topology_file)
    ensure_pki(state_dir / "pki", topology, ca_root=ca_dir if ca_dir is not None else state_dir / CA_FOLDER)
    kms = start_kms(topology, state_dir)
    try:
        supervisor = Supervisor(topology_file, state_dir, restart=restart, report=report,
                                options=kms_options(topology, {name: p.address for name, p in kms.items()}))
        estate = ProcessEstate(topology, topology_file, state_dir, supervisor.start(parts_in_start_order(topology)), ca_dir, kms)
    except BaseException:
        for process in kms.values():
            process.stop()
        raise
    write_private(state_dir / ENDPOINTS_FILE, json.dumps(estate.endpoints(), indent=2).encode())
    return estate


def start_kms(topology: Topology, state_dir: Path) -> dict[str, KmsProcess]:
    """A process for each KMS of the topology, each on a free loopback port, once all listen."""
    started = launch_kms(topology, state_dir)
    try:
        for process in started.values():
            process.wait_ready()
    except BaseException:
        for process in started.values():
            process.stop()
        raise
    return started


def kms_options(topology: Topology, addresses: dict[str, str]) -> dict[str, list[str]]:
    """`--kms NAME=ADDRESS` for each Standard Key Provider of each vCenter, by part."""
    return {f"vcenter:{vc.name}": [option for name in vc.key_providers if name in addresses
                                   for option in ("--kms", f"{name}={addresses[name]}")]
            for _, vc in topology.vcenters()}

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from linkedmode.deploy.credentials import DeployAuthorities
from linkedmode.deploy.parts import ClusterNames
from linkedmode.deploy.render import DeployOptions, render_estate
from linkedmode.topology import default_topology, default_topology_text


@dataclass
class Rendered:
    objects: list[dict[str, Any]]
    ca_root: Path
    names: ClusterNames

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{len(found)} {kind} named {name}"
        return found[0]

    def topology_text(self) -> str:
        text: str = self.named("ConfigMap", "linkedmode-topology")["data"]["topology.yaml"]
        return text


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Rendered:
    """The built-in topology rendered into the namespace `estate`, read back from the YAML written."""
    from linkedmode.deploy.manifests import write_manifests

    out = tmp_path_factory.mktemp("k8s")
    names = ClusterNames("estate", "cluster.local")
    topology = default_topology()
    objects = render_estate(topology, default_topology_text(), DeployAuthorities(topology, out / "ca"), DeployOptions(names))
    path = write_manifests(objects, out)
    return Rendered(list(yaml.safe_load_all(path.read_text())), out / "ca", names)

"""Objects out as YAML: one multi-document file `kubectl apply -f` takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..crypto.files import private_folder, write_private

MANIFEST_FILE = "estate.yaml"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the topology, certificates) as literal blocks, readable in the file; a value
    used twice written twice, never as a YAML alias that some tools reading manifests do not follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=1000)


def write_manifests(objects: list[dict[str, Any]], out: Path) -> Path:
    """Writes `out/estate.yaml`, owner-only: it holds the parts' private keys."""
    path = private_folder(Path(out)) / MANIFEST_FILE
    write_private(path, to_yaml(objects).encode())
    return path

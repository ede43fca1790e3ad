"""linkedmode/v1 is exactly what scripts/generate_protos.py makes from protos/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_protos", REPO / "scripts" / "generate_protos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_up_to_date(tmp_path):
    fresh = {p.name: p.read_bytes() for p in load_generator().generate(tmp_path)}
    checked_in = {p.name: p.read_bytes() for p in (REPO / "linkedmode" / "v1").iterdir() if p.is_file()}
    stale = sorted(name for name in fresh.keys() | checked_in.keys() if fresh.get(name) != checked_in.get(name))
    assert not stale, f"regenerate with `python scripts/generate_protos.py`: {stale} differ"
    assert len(fresh) == 1 + 4 * len(list((REPO / "protos" / "linkedmode" / "v1").glob("*.proto")))

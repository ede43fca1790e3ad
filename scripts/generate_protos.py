"""Regenerates linkedmode/v1/ from protos/linkedmode/v1/*.proto.

    python scripts/generate_protos.py            # writes into the repo
    python scripts/generate_protos.py --out DIR  # writes into DIR (the staleness test uses this)

Messages (_pb2.py), their type stubs (_pb2.pyi), service stubs (_pb2_grpc.py) and their type stubs
(_pb2_grpc.pyi, from mypy-protobuf). Pinned by the `test` extra so the output is reproducible.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import sysconfig
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "protos"
PACKAGE_DIR = Path("linkedmode") / "v1"


def _plugin(name: str) -> str:
    found = shutil.which(name) or str(Path(sysconfig.get_path("scripts")) / name)
    if not Path(found).exists():
        raise SystemExit(f"{name} not found: install the test extra (pip install -e '.[test]')")
    return found


def generate(out: Path) -> list[Path]:
    from grpc_tools import protoc

    protos = sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    target = out / PACKAGE_DIR
    target.mkdir(parents=True, exist_ok=True)
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--mypy_grpc_out={out}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    init = target / "__init__.py"
    init.write_text('"""Generated from protos/linkedmode/v1 by scripts/generate_protos.py. Do not edit."""\n')
    return sorted(p for p in target.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO, help="root to write linkedmode/v1/ under")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

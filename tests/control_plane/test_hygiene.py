"""Rules of the control plane's code that no behaviour test can see, read from the source itself: no
import cycle in the package, the migration key put into a proto and cleared in one place each, no
control flow on reason strings, no sleeping or timer threads, every `# type: ignore` with its reason,
no build output in the repository."""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "linkedmode"
CONTROL_PLANE = [PACKAGE / "migration", PACKAGE / "vcenter", PACKAGE / "reaper.py"]


def sources(*places: Path) -> Iterator[Path]:
    for place in places:
        yield from ([place] if place.is_file() else sorted(place.rglob("*.py")))


def own_modules() -> dict[str, Path]:
    """Every module of the package but the generated code, by dotted name."""
    modules = {}
    for path in sources(PACKAGE):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[1:2] == ["v1"]:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports(name: str, text: str, modules: dict[str, Path]) -> set[str]:
    """The package's modules that module `name` (source `text`) imports, at any level of the file,
    under TYPE_CHECKING too."""
    package = name.split(".") if modules[name].name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):   # a package's own __init__ is no cycle
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    modules = own_modules()
    graph = {name: imports(name, path.read_text(), modules) for name, path in modules.items()}
    assert len(graph) > 100
    assert cycles(graph) == []


def test_the_cycle_check_sees_a_cycle_through_a_type_checking_import() -> None:
    modules = own_modules()
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..migration.source import Migrations\n"
    graph = {name: imports(name, path.read_text(), modules) for name, path in modules.items()}
    graph["linkedmode.vcenter.tasks"] = imports("linkedmode.vcenter.tasks", text, modules)
    cycle = next((c for c in cycles(graph) if "linkedmode.vcenter.tasks" in c), [])
    assert {"linkedmode.migration.source", "linkedmode.vcenter.tasks"} <= set(cycle)


def functions_where(places: list[Path], found: type[ast.AST], test: Callable[[Any], bool]) -> list[str]:
    """`file:function` of every node of type `found` for which `test(node)` holds."""
    hits = []
    for path in sources(*places):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, found) and test(node):
                        hits.append(f"{path.relative_to(ROOT)}:{function.name}")
    return sorted(set(hits))


def _assigns_a_secret(node: ast.Assign) -> bool:
    """`x.key = ...` or `x.key, x.nonce = ...` on anything but `self`."""
    targets = [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
    return any(isinstance(t, ast.Attribute) and t.attr in ("key", "nonce")
               and not (isinstance(t.value, ast.Name) and t.value.id == "self") for t in targets)


def test_the_key_enters_a_proto_in_one_place() -> None:
    assert functions_where(CONTROL_PLANE, ast.Assign, _assigns_a_secret) == ["linkedmode/vcenter/host_client.py:spec_to_proto"]


def test_a_proto_that_held_a_key_is_cleared_in_one_place() -> None:
    def clears(node: ast.Call) -> bool:
        return isinstance(node.func, ast.Attribute) and node.func.attr in ("Clear", "ClearField")

    assert functions_where(CONTROL_PLANE, ast.Call, clears) == ["linkedmode/vcenter/host_client.py:sent"]


WORDS = {"reason", "transport", "outcome", "message", "detail", "error"}


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _compares_words(node: ast.Compare) -> bool:
    """`reason == "..."`, `"..." in fault.message`, `transport != "..."`: a decision taken on a string."""
    sides = [node.left, *node.comparators]
    return any(_name(s) in WORDS for s in sides) and any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides)


def _startswith_words(node: ast.Call) -> bool:
    return (isinstance(node.func, ast.Attribute) and node.func.attr in ("startswith", "endswith")
            and _name(node.func.value) in WORDS)


def test_the_control_plane_decides_on_types_not_on_strings() -> None:
    assert functions_where(CONTROL_PLANE, ast.Compare, _compares_words) == []
    assert functions_where(CONTROL_PLANE, ast.Call, _startswith_words) == []


def test_the_string_check_sees_a_decision_on_a_reason() -> None:
    tree = ast.parse('if fault.reason == "switchover_unconfirmed" or "unreachable" in error.message:\n    pass\n')
    assert sum(1 for n in ast.walk(tree) if isinstance(n, ast.Compare) and _compares_words(n)) == 2


def _waits_by_itself(node: ast.Call) -> bool:
    """`time.sleep(...)`, `threading.Timer(...)`, `Timer(...)`: time handled outside the reaper."""
    return _name(node.func) in ("sleep", "Timer")


def test_the_control_plane_neither_sleeps_nor_starts_timers() -> None:
    assert functions_where(CONTROL_PLANE, ast.Call, _waits_by_itself) == []


IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?(?P<rest>.*)$")


def test_every_type_ignore_says_why() -> None:
    bare = []
    for path in sources(PACKAGE, ROOT / "scripts"):
        if path.is_relative_to(PACKAGE / "v1"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found = IGNORE.search(line)
            if found and not found["rest"].strip().lstrip("#").strip():
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []


def test_the_type_ignore_check_sees_a_bare_one() -> None:
    bare, said = IGNORE.search("x = y  # type: ignore[arg-type]"), IGNORE.search("x = y  # type: ignore[arg-type]  # why")
    assert bare is not None and not bare["rest"].strip()
    assert said is not None and said["rest"].strip() == "# why"


def test_no_build_output_is_committed() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    assert tracked, "not a git checkout"
    assert [f for f in tracked if f.endswith((".whl", ".tar.gz", ".egg")) or f.startswith(("dist/", "build/"))] == []

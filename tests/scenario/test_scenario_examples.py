"""Every scenario in examples/ passes: run as `linkedmode run` runs them, one estate per topology,
reset between scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkedmode.scenario import ScenarioResult, load_scenarios, run_scenarios

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = sorted(p for folder in ("rows", "stories") for p in (EXAMPLES / folder).glob("*.yaml"))


@pytest.fixture(scope="module")
def results() -> dict[str, ScenarioResult]:
    scenarios = load_scenarios(list(FILES))
    scenarios.sort(key=lambda s: s.topology_key)     # consecutive scenarios of one topology share its estate
    lines: list[str] = []
    return {r.scenario.source: r for r in run_scenarios(scenarios, out=lines.append)}


def test_there_is_an_example_per_row_group_and_the_three_stories():
    rows = {p.name.split("-")[0][0] for p in FILES if p.parent.name == "rows"}
    assert rows == {"E", "X", "V", "D", "K"}
    assert len([p for p in FILES if p.parent.name == "stories"]) == 3


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_passes(results, path):
    run = results[str(path)]
    failed = [f"step {r.step.title()}: {r.detail}" for r in run.results if not r.passed]
    assert run.passed, f"{path.name}: {run.error or '; '.join(failed)}"
    assert run.results and not run.skipped

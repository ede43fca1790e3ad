"""JUnit XML of scenario runs: a testsuite per scenario, a testcase per step (steps of a parallel block
too), so CI shows which step failed and why."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from .results import ScenarioResult, StepResult


def _cases(results: list[StepResult]) -> Iterator[StepResult]:
    for result in results:
        yield result
        yield from _cases(result.children)


def junit_xml(runs: list[ScenarioResult]) -> ET.ElementTree:
    root = ET.Element("testsuites", name="linkedmode scenarios")
    for run in runs:
        cases = list(_cases(run.results))
        suite = ET.SubElement(root, "testsuite", name=run.scenario.name, file=run.scenario.source,
                              tests=str(len(cases) + len(run.skipped) + (1 if run.error else 0)),
                              failures=str(sum(not c.passed for c in cases)), errors="1" if run.error else "0",
                              skipped=str(len(run.skipped)), time=f"{run.seconds:.3f}")
        if run.error:
            case = ET.SubElement(suite, "testcase", classname=run.scenario.name, name="start", time="0")
            ET.SubElement(case, "error", message=run.error).text = run.error
        for result in cases:
            case = ET.SubElement(suite, "testcase", classname=run.scenario.name, name=f"step {result.step.title()}",
                                 time=f"{result.seconds:.3f}")
            if not result.passed:
                ET.SubElement(case, "failure", message=result.detail).text = result.detail
            elif result.detail:
                ET.SubElement(case, "system-out").text = result.detail
        for step in run.skipped:
            case = ET.SubElement(suite, "testcase", classname=run.scenario.name, name=f"step {step.title()}", time="0")
            ET.SubElement(case, "skipped", message="an earlier step failed")
    return ET.ElementTree(root)


def write_junit(runs: list[ScenarioResult], path: str | Path) -> None:
    tree = junit_xml(runs)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)

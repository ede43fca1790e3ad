"""The JUnit file: a testsuite per scenario, a testcase per step (a parallel block's steps too), the
failure's reason as its message, skipped steps marked, an estate that never started as an error."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from linkedmode.scenario import ScenarioResult, StepResult, parse_scenario, write_junit

TOPOLOGY = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "two-linked-vcenters.yaml"
STEPS = "name: junit\ntopology: " + str(TOPOLOGY) + """
steps:
  - parallel:
      - migrate: {vm: a, to_host: esx-a2}
      - migrate: {vm: b, to_host: esx-a2}
  - expect: {vm: a}
"""


def test_parallel_steps_are_testcases_and_the_rest_is_skipped(tmp_path):
    scenario = parse_scenario(yaml.safe_load(STEPS), "junit.yaml")
    block = scenario.steps[0]
    children = [StepResult(block.steps[0], True, "moved", 0.5),
                StepResult(block.steps[1], False, "expected success, but failed: NotFound: no VM named 'b'", 0.1)]
    run = ScenarioResult(scenario, [StepResult(block, False, "1 of 2 failed", 0.6, children)], [scenario.steps[1]], 0.7)
    write_junit([run], tmp_path / "out.xml")
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["step 1 parallel: 2 steps", "step 1.1 migrate a to esx-a2", "step 1.2 migrate b to esx-a2",
                           "step 2 expect a"]
    assert cases["step 1.2 migrate b to esx-a2"].find("failure").get("message").endswith("no VM named 'b'")
    assert cases["step 1.1 migrate a to esx-a2"].find("failure") is None
    assert cases["step 2 expect a"].find("skipped") is not None


def test_an_estate_that_never_started_is_an_error_case(tmp_path):
    scenario = parse_scenario(yaml.safe_load(STEPS), "junit.yaml")
    write_junit([ScenarioResult(scenario, error="cannot connect: no running estate in /nowhere")], tmp_path / "out.xml")
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert suite.get("errors") == "1"
    assert suite.find("testcase/error").get("message") == "cannot connect: no running estate in /nowhere"

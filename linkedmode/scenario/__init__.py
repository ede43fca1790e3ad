"""Scenario files: a topology and steps (create, power, migrate, break a step, kill a part, ...) with
what each must give; `linkedmode run SCENARIO.yaml` runs them. See the README's Scenarios section."""

from .junit import write_junit
from .parse import ScenarioError, load_scenario, parse_scenario
from .results import ScenarioResult, StepResult
from .runner import load_scenarios, run_scenario, run_scenarios

__all__ = ["ScenarioError", "ScenarioResult", "StepResult", "load_scenario", "load_scenarios", "parse_scenario",
           "run_scenario", "run_scenarios", "write_junit"]

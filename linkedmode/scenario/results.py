"""What running a scenario gave: a result per step, the steps skipped after a failure."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Scenario, Step


@dataclass
class StepResult:
    step: Step
    passed: bool
    detail: str                        # what happened, or why it failed
    seconds: float
    children: list[StepResult] = field(default_factory=list)


@dataclass
class ScenarioResult:
    scenario: Scenario
    results: list[StepResult] = field(default_factory=list)
    skipped: list[Step] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None           # the estate could not be started or reached

    @property
    def passed(self) -> bool:
        return self.error is None and all(r.passed for r in self.results) and not self.skipped

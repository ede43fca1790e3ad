"""Running scenarios: bring their topology up (one estate for consecutive scenarios of one topology,
reset between them) or connect to a running one, run the steps in order, print each with pass/fail
and the reason, stop a scenario at its first failing step."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..client import Client, NotRunning, connect
from ..estate import Estate, start_estate
from ..model.faults import Fault, NotFound
from ..v1 import emulator_pb2, fault_rules_pb2
from .model import Scenario
from .parse import load_scenario
from .results import ScenarioResult, StepResult
from .steps import Context, run_step

Printer = Callable[[str], None]


def last_event_keys(client: Client) -> dict[str, int]:
    """Per vCenter, the key of the last event posted so far."""
    return {name: max((e.key for _, e in client.events(vcenter=name)), default=0) for name in client.names}


def _print_result(result: StepResult, out: Printer, indent: str = "  ") -> None:
    word = "PASS" if result.passed else "FAIL"
    out(f"{indent}{word} {result.step.title()} ({result.seconds:.2f} s)" + (f": {result.detail}" if result.detail else ""))
    for child in result.children:
        _print_result(child, out, indent + "  ")


def run_scenario(scenario: Scenario, client: Client, estate: Estate | None, out: Printer = print) -> ScenarioResult:
    """Runs the steps against `client` (and `estate` for kill and restart, when the runner owns it)."""
    run = ScenarioResult(scenario)
    started = time.perf_counter()
    out(f"scenario {scenario.name} ({scenario.source})")
    context = Context(client, estate, scenario.domain, last_event_keys(client))
    try:
        for index, step in enumerate(scenario.steps):
            result = run_step(step, context)
            run.results.append(result)
            _print_result(result, out)
            if not result.passed:
                run.skipped = list(scenario.steps[index + 1:])
                for skipped in run.skipped:
                    out(f"  SKIP {skipped.title()}")
                break
    finally:
        if estate is not None:
            _revive(estate, context.killed, client)
    run.seconds = time.perf_counter() - started
    failed = sum(not r.passed for r in run.results)
    verdict = "PASS" if run.passed else "FAIL"
    out(f"{verdict} {scenario.name}: {len(run.results) - failed} passed, {failed} failed, {len(run.skipped)} skipped "
        f"in {run.seconds:.1f} s")
    return run


def _revive(estate: Estate, killed: set[str], client: Client) -> None:
    """Parts a scenario left dead start again, so that the next scenario finds the whole estate."""
    for part in sorted(killed, key=lambda p: p in estate.vcenters):   # hosts first, then their vCenters
        if part in estate.hosts:
            estate.restart_host(part)
        else:
            estate.restart_vcenter(part)
    killed.clear()
    client.readdress({n: s.address for n, s in estate.vcenters.items() if n in client.addresses})


def reset_estate(client: Client) -> None:
    """Every vCenter of the client's domain back to its topology's inventory, without fault rules."""
    for name in client.names:
        emulator = client.vcenter(name).emulator
        emulator.ClearFaultRules(fault_rules_pb2.ClearFaultRulesRequest())
        emulator.Reset(emulator_pb2.ResetRequest())


def _client_of(estate: Estate, scenario: Scenario) -> Client:
    domain = next((d for d in estate.topology.sso_domains if d.name == scenario.domain), None)
    if domain is None:
        raise NotFound(f"the topology has no SSO domain {scenario.domain!r}", object=scenario.domain)
    addresses = {vc.name: estate.vcenters[vc.name].address for vc in domain.vcenters}
    return Client(addresses, estate.credential(scenario.domain, "user", scenario.user))


def run_scenarios(scenarios: list[Scenario], *, state_dir: Path | None = None, out: Printer = print) -> list[ScenarioResult]:
    """Runs each scenario: against the estate of `state_dir` (a running `linkedmode up`), or on estates
    started here, one per run of consecutive scenarios with the same topology (reset between them)."""
    runs: list[ScenarioResult] = []
    if state_dir is not None:
        for scenario in scenarios:
            try:
                client = connect(state_dir, domain=scenario.domain, user=scenario.user)
            except (Fault, NotRunning, OSError) as error:
                runs.append(_not_started(scenario, f"cannot connect: {error}", out))
                continue
            with client:
                runs.append(run_scenario(scenario, client, None, out))
        return runs
    index = 0
    while index < len(scenarios):
        group = [scenarios[index]]
        while index + len(group) < len(scenarios) and scenarios[index + len(group)].topology_key == group[0].topology_key:
            group.append(scenarios[index + len(group)])
        index += len(group)
        runs += _run_group(group, out)
    return runs


def _run_group(group: list[Scenario], out: Printer) -> list[ScenarioResult]:
    with tempfile.TemporaryDirectory(prefix="linkedmode-run-") as temp:
        try:
            estate = start_estate(group[0].topology, Path(temp))
        except (Fault, OSError, RuntimeError) as error:     # a port taken (gRPC says so with a RuntimeError), a part that would not start
            return [_not_started(scenario, f"the estate did not start: {error}", out) for scenario in group]
        with estate:
            return _run_in(estate, group, out)


def _run_in(estate: Estate, group: list[Scenario], out: Printer) -> list[ScenarioResult]:
    runs = []
    for number, scenario in enumerate(group):
        try:
            client = _client_of(estate, scenario)
        except (Fault, OSError) as error:
            runs.append(_not_started(scenario, str(error), out))
            continue
        with client:
            if number:
                reset_estate(client)
            runs.append(run_scenario(scenario, client, estate, out))
    return runs


def _not_started(scenario: Scenario, why: str, out: Printer) -> ScenarioResult:
    out(f"FAIL {scenario.name}: {why}")
    return ScenarioResult(scenario, error=why)


def load_scenarios(paths: list[str | Path]) -> list[Scenario]:
    """Every file parsed before anything runs: a malformed one stops the run with its ScenarioError."""
    return [load_scenario(p) for p in paths]

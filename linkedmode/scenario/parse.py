"""Reading a scenario file: YAML into a Scenario, every problem one line naming the step and the field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import yaml

from ..model.fault_rules import FaultAction, FaultRule
from ..model.faults import Fault, all_faults
from ..model.migration import MigrationStep
from ..model.settings import MigrateEncryption
from ..topology import TopologyError, default_topology, load_topology
from ..topology.fields import Node, describe
from ..topology.load import parse_topology
from ..topology.spec import Topology
from .model import (
    AddFaultRule,
    AnnouncementExpectation,
    Bound,
    CheckExpectation,
    CheckRelocate,
    ClearFaultRules,
    Create,
    Crossing,
    Decrypt,
    Destination,
    Encrypt,
    EventExpectation,
    ExpectAnnouncements,
    ExpectEvents,
    ExpectHost,
    ExpectPerf,
    ExpectVm,
    Figure,
    HostExpectation,
    KeyProviderBackup,
    Kill,
    Migrate,
    Parallel,
    PerfExpectation,
    Power,
    Restart,
    Scenario,
    SetEncryption,
    Snapshot,
    Step,
    TaskExpectation,
    TaskState,
    VmExpectation,
    Wait,
)

ACTIONS = ("create", "power", "set_encryption", "encrypt", "decrypt", "key_provider_backup", "snapshot", "migrate",
           "check_relocate", "fault_rule", "clear_fault_rules", "kill", "restart", "wait", "expect", "expect_host", "events",
           "announcements", "perf", "parallel")
TASK_ACTIONS = ("create", "power", "set_encryption", "encrypt", "decrypt", "snapshot", "migrate")
FIGURES = ("downtime_ms", "duration_ms", "mbps", "rounds", "bytes_sent", "pages_sent", "zero_pages", "max_throttle",
           "disk_bytes", "queued_ms", "disks_moved")
_VM_KEYS = ("vm", "vcenter", "host", "power", "migrate_encryption", "exactly_once", "absent", "mac_addresses",
            "macs_blocked_on", "encrypted", "key_provider")
_PLACEMENT_KEYS = ("vm", "to_host", "to_vcenter", "datastore", "pool", "networks", "locator")
_LOCATOR_KEYS = ("instance_uuid", "url", "ssl_thumbprint")


class ScenarioError(Exception):
    """A scenario that cannot run. str() is one line: the file, the step, the field and the problem."""

    def __init__(self, source: str, step: str, field: str, problem: str) -> None:
        self.source, self.step, self.field, self.problem = source, step, field, " ".join(problem.split())
        parts = [source, step, f"field {field}" if field else "", self.problem]
        super().__init__(": ".join(p for p in parts if p))


@contextmanager
def _at(source: str, step: str) -> Iterator[None]:
    """Inside it, a field that cannot be read becomes a ScenarioError naming `step` and the field."""
    try:
        yield
    except TopologyError as error:
        raise ScenarioError(source, step, error.path, error.problem) from None
    except Fault as fault:
        raise ScenarioError(source, step, fault.arguments.get("argument", ""), fault.message) from None


def load_scenario(path: str | Path) -> Scenario:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, "", "", "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(source, "", "", f"cannot read it: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(source, where, "", f"invalid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(source, "", "", f"invalid YAML: {error}") from None
    return parse_scenario(data, source, Path(path).parent)


def parse_scenario(data: object, source: str, directory: Path = Path(".")) -> Scenario:
    with _at(source, ""):
        root = Node(data, "", source, ("name", "description", "topology", "domain", "user", "steps"))
        name = root.text("name", Path(source).stem)
        steps = root.items("steps")
        if not steps:
            raise root.fail("steps", "expected a list of at least one step")
        domain, user = root.text("domain", "vsphere.local"), root.text("user", "administrator")
        description = root.text("description", "")
    topology, key = _topology(root, source, directory)
    return Scenario(name, source, topology, key, tuple(_step(item, str(i), source) for i, (_, item) in enumerate(steps, 1)),
                    domain, user, description, directory)


def _topology(root: Node, source: str, directory: Path) -> tuple[Topology, str]:
    value = root.data.get("topology")
    try:
        if value is None:
            return default_topology(), "<built-in default>"
        if isinstance(value, str):
            path = (directory / value).resolve()
            return load_topology(path), str(path)
        if isinstance(value, dict):
            return parse_topology(value, f"{source} (topology)"), f"{source} (topology)"
    except TopologyError as error:
        raise ScenarioError(source, "", f"topology.{error.path}" if error.path else "topology",
                            f"{error.problem} (in {error.source})") from None
    raise ScenarioError(source, "", "topology", f"expected a file name or a mapping, got {describe(value)}")


def _step(item: object, number: str, source: str) -> Step:
    where = f"step {number}"
    if not isinstance(item, dict):
        raise ScenarioError(source, where, "", f"expected a mapping with one of {', '.join(ACTIONS)}, got {describe(item)}")
    label = item.get("name")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ScenarioError(source, where, "name", f"expected a non-empty string, got {describe(label)}")
    if label:
        where = f"step {number} ({label})"
    actions = [k for k in item if k in ACTIONS]
    if len(actions) > 1 and "expect" in actions:   # `expect` beside an action says what that action must give
        actions.remove("expect")
    unknown = [str(k) for k in item if k not in ACTIONS and k != "name"]
    if not actions and unknown:
        raise ScenarioError(source, where, unknown[0], f"not an action; the actions are {', '.join(ACTIONS)}")
    if len(actions) != 1:
        found = ", ".join(str(k) for k in actions) or "none"
        raise ScenarioError(source, where, "", f"expected exactly one action of {', '.join(ACTIONS)} (found {found})")
    action = actions[0]
    allowed = ("name", "after", action) + (("expect",) if action in (*TASK_ACTIONS, "check_relocate") else ())
    with _at(source, where):
        node = Node(item, "", source, allowed)
        step = _READERS[action](node, number, label or "", source, where)
        return replace(step, after=node.number("after", 0.0)) if node.has("after") else step


def _flag(node: Node, key: str) -> bool | None:
    """An optional boolean: None when absent (not checked)."""
    return node.boolean(key) if node.has(key) else None


def _mapping(node: Node, key: str, keys: tuple[str, ...]) -> Node:
    found = node.mapping(key, keys)
    if found is None:
        raise node.fail(key, "required but missing")
    return found


def _task_expect(node: Node) -> TaskExpectation:
    expect = node.mapping("expect", ("state", "fault", "message_contains", "mode", "hot", "vcenter", "host", "figures"))
    if expect is None:
        return TaskExpectation()
    fault = expect.text("fault", None)
    if fault is not None and fault not in all_faults():
        raise expect.fail("fault", f"{fault!r} is not a fault this emulator knows")
    state = expect.choice("state", tuple(TaskState), TaskState.ERROR.value if fault else TaskState.SUCCESS.value)
    if fault and state != TaskState.ERROR:
        raise expect.fail("state", "a task that ends with a fault ends in error")
    figures = []
    bounds = expect.mapping("figures", FIGURES)
    if bounds is not None:
        for name in bounds.data:
            bound = Node(bounds.data[name], bounds.at(name), bounds.source, tuple(Bound))
            for kind in bound.data:
                figures.append(Figure(name, Bound(kind), bound.number(kind, minimum=-1e18)))
    mode = expect.choice("mode", tuple(Crossing), None)
    return TaskExpectation(TaskState(state), fault, expect.text("message_contains", None), Crossing(mode) if mode else None,
                           _flag(expect, "hot"), expect.text("vcenter", None), expect.text("host", None),
                           tuple(figures))


def _destination(node: Node) -> Destination:
    networks = node.data.get("networks")
    if networks is not None and (not isinstance(networks, dict) or not all(isinstance(v, str) for v in networks.values())):
        raise node.fail("networks", "expected a mapping of NIC label to network name")
    locator = node.mapping("locator", _LOCATOR_KEYS)
    return Destination(to_host=node.text("to_host"), to_vcenter=node.text("to_vcenter", None),
                       datastore=node.text("datastore", None), pool=node.text("pool", None),
                       networks={str(k): v for k, v in (networks or {}).items()},
                       locator={k: locator.text(k) for k in _LOCATOR_KEYS if locator.has(k)} if locator else {})


def _power_word(node: Node, key: str, words: tuple[str, ...], default: str | None = None) -> str | None:
    """A power state as written; YAML reads a bare on/off as true/false, which means the same here."""
    value = node.data.get(key)
    if isinstance(value, bool):
        return "on" if value else "off"
    found: str | None = node.choice(key, words, default)
    return found


def _vm_expect(node: Node) -> VmExpectation:
    power = _power_word(node, "power", ("on", "off", "suspended"))
    mode = node.choice("migrate_encryption", tuple(m.value for m in MigrateEncryption), None)
    macs = tuple(_text(node, p, v) for p, v in node.items("mac_addresses")) if node.has("mac_addresses") else None
    encrypted, provider = _flag(node, "encrypted"), node.text("key_provider", None)
    if provider is not None and encrypted is False:
        raise node.fail("key_provider", "a VM that is not encrypted has no key provider")
    return VmExpectation(node.text("vm"), node.text("vcenter", None), node.text("host", None), power,
                         MigrateEncryption(mode) if mode else None, node.boolean("exactly_once", False),
                         node.boolean("absent", False), macs, node.text("macs_blocked_on", None),
                         encrypted, provider)


def _create(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "create", ("vm", "host", "datastore", "memory_mb", "disks_mb", "networks", "migrate_encryption",
                                     "dirty_rate_mbps", "working_set_mb", "power_on"))
    disks = tuple(_integer(spec, path, value) for path, value in spec.items("disks_mb"))
    networks = tuple(_text(spec, path, value) for path, value in spec.items("networks"))
    mode = spec.choice("migrate_encryption", tuple(m.value for m in MigrateEncryption), None)
    vm = spec.text("vm")
    return Create(number=number, label=label or f"create {vm}", expect=_task_expect(node), vm=vm, host=spec.text("host"),
                  datastore=spec.text("datastore"), memory_mb=spec.integer("memory_mb", 64), disks_mb=disks, networks=networks,
                  migrate_encryption=MigrateEncryption(mode) if mode else None,
                  dirty_rate_mbps=spec.number("dirty_rate_mbps", 0.0), working_set_mb=spec.integer("working_set_mb", 0, minimum=0),
                  power_on=spec.boolean("power_on", False))


def _integer(node: Node, path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TopologyError(node.source, path, f"expected a positive integer, got {describe(value)}")
    return value


def _text(node: Node, path: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TopologyError(node.source, path, f"expected a non-empty string, got {describe(value)}")
    return value


def _power(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "power", ("vm", "state"))
    vm, state = spec.text("vm"), _power_word(spec, "state", ("on", "off"), "")
    if not state:
        raise spec.fail("state", "required but missing")
    return Power(number=number, label=label or f"power {state} {vm}", expect=_task_expect(node), vm=vm, on=state == "on")


def _set_encryption(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "set_encryption", ("vm", "mode"))
    vm, mode = spec.text("vm"), spec.choice("mode", tuple(m.value for m in MigrateEncryption))
    return SetEncryption(number=number, label=label or f"set {vm} migrate_encryption {mode}", expect=_task_expect(node),
                         vm=vm, mode=MigrateEncryption(mode))


def _encrypt(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "encrypt", ("vm", "key_provider"))
    vm, provider = spec.text("vm"), spec.text("key_provider", "")
    with_what = f" with {provider}" if provider else " with the default key provider"
    return Encrypt(number=number, label=label or f"encrypt {vm}{with_what}", expect=_task_expect(node), vm=vm,
                   key_provider=provider)


def _decrypt(node: Node, number: str, label: str, source: str, where: str) -> Step:
    vm = _mapping(node, "decrypt", ("vm",)).text("vm")
    return Decrypt(number=number, label=label or f"decrypt {vm}", expect=_task_expect(node), vm=vm)


def _key_provider_backup(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "key_provider_backup", ("from", "provider", "to"))
    origin, provider, into = spec.text("from"), spec.text("provider"), spec.text("to")
    if origin == into:
        raise spec.fail("to", f"the backup is restored into another vCenter than the one it comes from ({origin})")
    return KeyProviderBackup(number=number, label=label or f"back up {provider} from {origin}, restore into {into}",
                             from_vcenter=origin, provider=provider, to_vcenter=into)


def _snapshot(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "snapshot", ("vm", "name"))
    vm, name = spec.text("vm"), spec.text("name")
    return Snapshot(number=number, label=label or f"snapshot {vm} {name}", expect=_task_expect(node), vm=vm, name=name)


def _migrate(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "migrate", _PLACEMENT_KEYS)
    to = _destination(spec)
    vm = spec.text("vm")
    target = f"{to.to_vcenter}/{to.to_host}" if to.to_vcenter else to.to_host
    return Migrate(number=number, label=label or f"migrate {vm} to {target}", expect=_task_expect(node), vm=vm, to=to)


def _check_relocate(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "check_relocate", _PLACEMENT_KEYS)
    to, vm = _destination(spec), spec.text("vm")
    expect = node.mapping("expect", ("errors", "warnings", "hot", "encrypted"))
    check = CheckExpectation()
    if expect is not None:
        known = all_faults()
        lists: list[tuple[str, ...] | None] = []
        for key in ("errors", "warnings"):
            if key not in expect.data:
                lists.append(() if key == "errors" else None)
                continue
            names = tuple(_text(expect, path, value) for path, value in expect.items(key))
            for (path, _), name in zip(expect.items(key), names, strict=True):
                if name not in known:
                    raise TopologyError(source, path, f"{name!r} is not a fault this emulator knows")
            lists.append(names)
        check = CheckExpectation(lists[0], lists[1], _flag(expect, "hot"), _flag(expect, "encrypted"))
    return CheckRelocate(number=number, label=label or f"check relocate {vm} to {to.to_host}", vm=vm, to=to, expect=check)


def _fault_rule(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "fault_rule", ("vcenter", "step", "action", "part", "vm", "probability", "count",
                                         "delay_seconds", "fault"))
    step = spec.choice("step", tuple(MigrationStep))
    action = spec.choice("action", tuple(FaultAction), FaultAction.ERROR.value)
    fault = spec.text("fault", "SystemError")
    if fault not in all_faults():
        raise spec.fail("fault", f"{fault!r} is not a fault this emulator knows")
    rule = FaultRule(MigrationStep(step), FaultAction(action), part=spec.text("part", ""), vm=spec.text("vm", ""),
                     probability=spec.number("probability", 1.0), count=spec.integer("count", 1, minimum=0),
                     delay_seconds=spec.number("delay_seconds", 0.0), fault=fault)
    try:
        rule.check()
    except Fault as problem:
        raise spec.fail(problem.arguments.get("argument", ""), problem.message) from None
    where_to = f" on {rule.part}" if rule.part else ""
    return AddFaultRule(number=number, label=label or f"fault rule: {action} at {step}{where_to}",
                        vcenter=spec.text("vcenter", None), rule=rule)


def _clear_fault_rules(node: Node, number: str, label: str, source: str, where: str) -> Step:
    value = node.data["clear_fault_rules"]
    if value in (True, "all"):
        vcenters: tuple[str, ...] = ()
    else:
        spec = _mapping(node, "clear_fault_rules", ("vcenters",))
        vcenters = tuple(_text(spec, path, v) for path, v in spec.items("vcenters"))
    return ClearFaultRules(number=number, label=label or "clear fault rules", vcenters=vcenters)


def _kill(node: Node, number: str, label: str, source: str, where: str) -> Step:
    part = node.text("kill")
    return Kill(number=number, label=label or f"kill {part}", part=part)


def _restart(node: Node, number: str, label: str, source: str, where: str) -> Step:
    part = node.text("restart")
    return Restart(number=number, label=label or f"restart {part}", part=part)


def _wait(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "wait", ("seconds", "until"))
    until = spec.mapping("until", _VM_KEYS)
    seconds = spec.seconds("seconds") if until is None else spec.seconds("seconds", 10.0)
    condition = _vm_expect(until) if until is not None else None
    what = f"until {condition.vm} is as expected" if condition else f"{seconds:g} s"
    return Wait(number=number, label=label or f"wait {what}", seconds=seconds, until=condition)


def _expect(node: Node, number: str, label: str, source: str, where: str) -> Step:
    expect = _vm_expect(_mapping(node, "expect", _VM_KEYS))
    return ExpectVm(number=number, label=label or f"expect {expect.vm}", expect=expect)


def _expect_host(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "expect_host", ("host", "encrypted_vmotion", "aes_ni", "connected", "max_concurrent_vmotions"))
    limit = spec.integer("max_concurrent_vmotions") if spec.has("max_concurrent_vmotions") else None
    expect = HostExpectation(spec.text("host"), _flag(spec, "encrypted_vmotion"), _flag(spec, "aes_ni"), _flag(spec, "connected"),
                             limit)
    return ExpectHost(number=number, label=label or f"expect host {expect.host}", expect=expect)


def _events(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "events", ("vcenter", "vm", "seen", "not_seen", "one_chain"))
    expect = EventExpectation(spec.text("vcenter"), spec.text("vm", None),
                              tuple(_text(spec, p, v) for p, v in spec.items("seen")),
                              tuple(_text(spec, p, v) for p, v in spec.items("not_seen")), spec.boolean("one_chain", False))
    about = f" of {expect.vm}" if expect.vm else ""
    return ExpectEvents(number=number, label=label or f"events{about} on {expect.vcenter}", expect=expect)


def _announcements(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "announcements", ("host", "vm", "announced"))
    expect = AnnouncementExpectation(spec.text("host"), spec.text("vm"), spec.boolean("announced", True))
    said = "announced" if expect.announced else "did not announce"
    return ExpectAnnouncements(number=number, label=label or f"{expect.host} {said} {expect.vm}'s MACs", expect=expect)


def _perf(node: Node, number: str, label: str, source: str, where: str) -> Step:
    spec = _mapping(node, "perf", ("vcenter", "vm", "samples", "before_last_move", "left_behind"))
    expect = PerfExpectation(spec.text("vcenter"), spec.text("vm"), spec.integer("samples", 0, minimum=0),
                             _flag(spec, "before_last_move"), spec.boolean("left_behind", False))
    if expect.left_behind and expect.before_last_move is not None:
        raise spec.fail("left_behind", "what stayed behind is all from before the move: leave out before_last_move")
    return ExpectPerf(number=number, label=label or f"performance history of {expect.vm} on {expect.vcenter}", expect=expect)


def _parallel(node: Node, number: str, label: str, source: str, where: str) -> Step:
    items = node.items("parallel")
    if len(items) < 2:
        raise node.fail("parallel", "expected a list of at least two steps")
    steps = tuple(_step(item, f"{number}.{i}", source) for i, (_, item) in enumerate(items, 1))
    if any(isinstance(s, Kill | Restart | Parallel) for s in steps):
        raise node.fail("parallel", "kill, restart and parallel steps run on their own, not inside a parallel block")
    return Parallel(number=number, label=label or f"parallel: {len(steps)} steps", steps=steps)


_READERS = {
    "create": _create, "power": _power, "set_encryption": _set_encryption, "encrypt": _encrypt, "decrypt": _decrypt,
    "key_provider_backup": _key_provider_backup, "snapshot": _snapshot, "migrate": _migrate,
    "check_relocate": _check_relocate, "fault_rule": _fault_rule, "clear_fault_rules": _clear_fault_rules, "kill": _kill,
    "restart": _restart, "wait": _wait, "expect": _expect, "expect_host": _expect_host, "events": _events,
    "announcements": _announcements, "perf": _perf, "parallel": _parallel,
}

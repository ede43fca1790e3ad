"""Break every step of a cross-vCenter vMotion with a fault rule: before the commit the VM stays on
the source, after it on the destination, and nothing is left behind (rows V4, V5)."""

from __future__ import annotations

import grpc
import pytest
from estate_helpers import call_fault, client_of, fault_rule, step_of
from migration_estate import migration_estate, to_vc_b, vm_names

from linkedmode.invariant import settled_invariant
from linkedmode.model.faults import InvalidArgument
from linkedmode.v1 import common_pb2, fault_rules_pb2

# step, the vCenter whose Emulator takes the rule, the part it names, whether it comes after the commit
STEPS = [
    ("spec_exchange", "vc-b", "", False),
    ("key_push_destination", "vc-b", "b70", False),
    ("key_push_source", "vc-a", "a70", False),
    ("precopy_round", "vc-a", "a70", False),
    ("stun", "vc-a", "a70", False),
    ("final_pages", "vc-a", "a70", False),
    ("commit", "vc-b", "", False),
    ("resume", "vc-b", "b70", True),
    ("source_cleanup", "vc-a", "a70", True),
]


@pytest.fixture
def estate():
    with migration_estate() as running:
        yield running


def install(estate, vcenter: str, **rule) -> list[fault_rules_pb2.FaultRule]:
    return list(client_of(estate, vcenter).emulator.AddFaultRule(fault_rule(**rule)).rules)


def where(estate, vm: str) -> str:
    for name in ("vc-a", "vc-b"):
        if vm in vm_names(client_of(estate, name)):
            return name
    return ""


@pytest.mark.parametrize("step,vcenter,part,after_commit", STEPS, ids=[s[0] for s in STEPS])
def test_an_error_at_each_step(estate, step, vcenter, part, after_commit):
    rules = install(estate, vcenter, step=step, part=part, vm="opportunistic", fault="HostCommunication", count=1)
    assert rules and all(r.id for r in rules)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    if after_commit:
        assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
        assert where(estate, "opportunistic") == "vc-b"
    else:
        assert task.state == common_pb2.TASK_STATE_ERROR
        assert task.error.name == "HostCommunication" and f"injected at {step}" in task.error.message
        assert where(estate, "opportunistic") == "vc-a"
    fired = client_of(estate, vcenter).emulator.ListFaultRules(fault_rules_pb2.ListFaultRulesRequest()).rules
    assert [r.fired for r in fired if step_of(r) == step] == [1]
    assert settled_invariant(estate) == []


KILLS = [("spec_exchange", "vc-b", ""), ("key_push_destination", "vc-b", "b70"), ("commit", "vc-b", "")]


@pytest.mark.parametrize("step,vcenter,part", KILLS, ids=[k[0] for k in KILLS])
def test_a_destination_part_killed_at_each_step(estate, step, vcenter, part):
    install(estate, vcenter, step=step, part=part, action="kill", count=1)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_ERROR
    killed = estate.hosts[part] if part else estate.vcenters[vcenter]
    assert not killed.running
    assert "opportunistic" in vm_names(client_of(estate, "vc-a"))
    assert settled_invariant(estate, vms=["opportunistic"]) == []


def test_a_delay_slows_a_step_without_breaking_it(estate):
    install(estate, "vc-a", step="precopy_round", part="a70", action="delay", delay_seconds=0.3, count=1)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_SUCCESS and task.migration.stream.duration_ms >= 300
    assert settled_invariant(estate) == []


def test_rules_are_listed_and_cleared(estate):
    vc_a = client_of(estate, "vc-a")
    assert len(install(estate, "vc-a", step="stun", action="delay")) == 3   # one per host of vc-a
    install(estate, "vc-a", step="commit", probability=0.5, count=0)
    listed = vc_a.emulator.ListFaultRules(fault_rules_pb2.ListFaultRulesRequest()).rules
    assert sorted((step_of(r), r.part) for r in listed) == [("commit", "vc-a"), ("stun", "a-slow"), ("stun", "a67"), ("stun", "a70")]
    assert vc_a.emulator.ClearFaultRules(fault_rules_pb2.ClearFaultRulesRequest()).cleared == 4
    assert not vc_a.emulator.ListFaultRules(fault_rules_pb2.ListFaultRulesRequest()).rules


STEP_NUMBERS = "MIGRATION_STEP_SPEC_EXCHANGE (1), MIGRATION_STEP_KEY_PUSH_DESTINATION (2)"


@pytest.mark.parametrize("rule,message", [
    (fault_rules_pb2.FaultRule(), f"step 0 is not one of {STEP_NUMBERS}"),
    (fault_rules_pb2.FaultRule(step=99), f"step 99 is not one of {STEP_NUMBERS}"),
    (fault_rules_pb2.FaultRule(step=fault_rules_pb2.MIGRATION_STEP_STUN, action=42),
     "action 42 is not one of FAULT_ACTION_ERROR (1), FAULT_ACTION_DELAY (2)"),
    (fault_rule("stun", probability=2), "probability 2.0 is not between 0 and 1"),
    (fault_rule("stun", fault="NoSuchFault"), "fault 'NoSuchFault' is not a fault this emulator knows"),
    (fault_rule("stun", "corrupt_frame"), "corrupt_frame tampers with the page stream: its step is precopy_round"),
    (fault_rule("stun", part="b70"), "vc-a is not 'b70' and manages no host of that name"),
    (fault_rule("commit", part="vc-b"), "vc-a is not 'vc-b' and manages no host of that name"),
])
def test_bad_rules_are_refused(estate, rule, message):
    code, fault = call_fault(client_of(estate, "vc-a").emulator.AddFaultRule, rule)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(fault, InvalidArgument)
    assert fault.message.startswith(message)


def test_the_key_check_of_this_folder_sees_every_key(estate, no_key_is_ever_written):
    """The autouse check (conftest.py) is only worth something if it records the keys it looks for."""
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.migration.encrypted
    assert len(no_key_is_ever_written) == 1 and len(no_key_is_ever_written[0]) == 32


def test_rules_can_come_from_the_topology_file(tmp_path):
    import yaml
    from migration_estate import TOPOLOGY

    from linkedmode.estate import start_estate
    from linkedmode.topology import parse_topology

    data = yaml.safe_load(TOPOLOGY)
    data["sso_domains"][0]["vcenters"][1]["fault_rules"] = [
        {"step": "key_push_destination", "part": "b70", "vm": "opportunistic", "fault": "HostCommunication"}]
    with start_estate(parse_topology(data, "with-rules")) as estate:
        listed = client_of(estate, "vc-b").emulator.ListFaultRules(fault_rules_pb2.ListFaultRulesRequest()).rules
        assert [(step_of(r), r.part, r.vm) for r in listed] == [("key_push_destination", "b70", "opportunistic")]
        task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
        assert task.state == common_pb2.TASK_STATE_ERROR and "injected at key_push_destination" in task.error.message
        assert settled_invariant(estate, vms=["opportunistic"]) == []


@pytest.mark.parametrize("action,says", [("corrupt_frame", "failed authentication"), ("replay_frame", "replay")])
def test_a_frame_corrupted_or_replayed_by_a_rule_ends_the_migration_safely(estate, action, says):
    """The rule puts a relay on the source's own vMotion path, as a man in the middle would be."""
    install(estate, "vc-a", step="precopy_round", part="a70", vm="opportunistic", action=action, count=1)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_ERROR
    assert task.error.name == "MigrationFault", task.error
    assert task.error.arguments["reason"] == "peer_abort" and says in task.error.message, task.error
    assert where(estate, "opportunistic") == "vc-a"
    assert settled_invariant(estate, vms=["opportunistic"]) == []
    again = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")   # the rule fired once: clean now
    assert again.state == common_pb2.TASK_STATE_SUCCESS


SOURCE_HOST_STEPS = ["key_push_source", "precopy_round", "stun", "final_pages"]


@pytest.mark.parametrize("step", SOURCE_HOST_STEPS)
def test_a_source_host_killed_at_each_step_takes_the_vm_down_and_brings_it_back(estate, step):
    """A source host that dies takes its running VMs with it, as in vSphere; the migration ends, the
    destination holds nothing, and when the host is back its vCenter starts the VM there again (HA)."""
    install(estate, "vc-a", step=step, part="a70", action="kill", count=1)
    task = to_vc_b(estate, client_of(estate, "vc-a"), "opportunistic")
    assert task.state == common_pb2.TASK_STATE_ERROR
    assert not estate.hosts["a70"].running
    assert where(estate, "opportunistic") == "vc-a"
    assert not estate.hosts["b70"].migrations.snapshots() and not estate.vcenters["vc-b"].vcenter.arrivals.pending()
    estate.restart_host("a70")
    assert settled_invariant(estate, vms=["opportunistic"]) == []

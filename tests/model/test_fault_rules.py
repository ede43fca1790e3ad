"""Fault rules as plain objects: steps and actions are enums, named in words by users and as proto
enums on the wire, and each part's injector acts on the rules that match its steps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkedmode.model.fault_rules import FaultAction, FaultInjector, FaultRule, action_named, step_named
from linkedmode.model.faults import HostCommunication, InvalidArgument, PartKilled
from linkedmode.model.faults import SystemError as SystemFault  # vSphere's SystemError, not the builtin
from linkedmode.model.migration import MigrationStep, PartKind
from linkedmode.rpc.convert import (
    fault_action_from_proto,
    fault_action_to_proto,
    fault_rule_from_proto,
    fault_rule_to_proto,
    migration_step_from_proto,
    migration_step_to_proto,
)
from linkedmode.v1 import fault_rules_pb2


@pytest.mark.parametrize("step", list(MigrationStep))
def test_every_step_crosses_the_wire_as_the_proto_member_of_its_name(step):
    number = migration_step_to_proto(step)
    assert fault_rules_pb2.MigrationStep.Name(number) == f"MIGRATION_STEP_{step.name}"
    assert migration_step_from_proto(number) is step


@pytest.mark.parametrize("action", list(FaultAction))
def test_every_action_crosses_the_wire_as_the_proto_member_of_its_name(action):
    number = fault_action_to_proto(action)
    assert fault_rules_pb2.FaultAction.Name(number) == f"FAULT_ACTION_{action.name}"
    assert fault_action_from_proto(number) is action


def test_the_proto_enums_have_no_member_the_domain_lacks():
    assert len(fault_rules_pb2.MigrationStep.keys()) == len(MigrationStep) + 1      # + UNSPECIFIED
    assert len(fault_rules_pb2.FaultAction.keys()) == len(FaultAction) + 1


def test_a_rule_without_action_is_an_error_rule_and_one_without_step_is_refused():
    rule = fault_rule_from_proto(fault_rules_pb2.FaultRule(step=fault_rules_pb2.MIGRATION_STEP_COMMIT))
    assert (rule.step, rule.action, rule.probability, rule.fault) == (MigrationStep.COMMIT, FaultAction.ERROR, 1.0, "SystemError")
    with pytest.raises(InvalidArgument) as caught:
        fault_rule_from_proto(fault_rules_pb2.FaultRule())
    assert caught.value.message.startswith("step 0 is not one of MIGRATION_STEP_SPEC_EXCHANGE (1), ")


def test_a_rule_survives_the_round_trip_but_for_its_id_which_the_part_that_takes_it_gives():
    rule = FaultRule(MigrationStep.PRECOPY_ROUND, FaultAction.REPLAY_FRAME, part="esx-a1", vm="web", probability=0.5, count=2,
                     delay_seconds=0.1, fault="SystemError")
    back = fault_rule_from_proto(fault_rule_to_proto(rule))
    assert back.id != rule.id and replace(back, id=rule.id) == rule


def test_steps_and_actions_are_read_from_words():
    assert step_named("source_cleanup") is MigrationStep.SOURCE_CLEANUP
    assert action_named("drop_connection") is FaultAction.DROP_CONNECTION


@pytest.mark.parametrize("read,word,message", [
    (step_named, "teleport", "step 'teleport' is not one of spec_exchange, key_push_destination, key_push_source, precopy_round, "
                             "stun, final_pages, commit, resume, source_cleanup"),
    (step_named, "STUN", "step 'STUN' is not one of spec_exchange"),
    (action_named, "explode", "action 'explode' is not one of error, delay, drop_connection, kill, corrupt_frame, replay_frame"),
])
def test_a_word_that_names_no_step_or_action_is_refused_with_the_choices(read, word, message):
    with pytest.raises(InvalidArgument) as caught:
        read(word)
    assert caught.value.message.startswith(message)


def test_the_vcenter_takes_spec_exchange_and_commit_and_hosts_the_rest():
    assert {s for s in MigrationStep if s.part_kind is PartKind.VCENTER} == {MigrationStep.SPEC_EXCHANGE, MigrationStep.COMMIT}


@pytest.mark.parametrize("action", [FaultAction.CORRUPT_FRAME, FaultAction.REPLAY_FRAME])
def test_frame_actions_belong_to_precopy_round_only(action):
    assert FaultRule(MigrationStep.PRECOPY_ROUND, action).check().action is action
    with pytest.raises(InvalidArgument) as caught:
        FaultRule(MigrationStep.STUN, action).check()
    assert caught.value.message == f"{action} tampers with the page stream: its step is precopy_round"


def test_an_injector_acts_only_at_the_step_its_rule_names():
    killed: list[bool] = []
    faults = FaultInjector("esx-a1", kill=lambda: killed.append(True), seed=1)
    faults.add(FaultRule(MigrationStep.STUN, FaultAction.DROP_CONNECTION, vm="web"))
    faults.add(FaultRule(MigrationStep.RESUME, FaultAction.KILL))
    faults.add(FaultRule(MigrationStep.COMMIT))
    faults.at(MigrationStep.PRECOPY_ROUND, "web")        # no rule: nothing happens
    faults.at(MigrationStep.STUN, "db")                  # another VM: nothing happens
    with pytest.raises(HostCommunication, match=r"connection dropped: injected at stun on esx-a1 for web \(rule "):
        faults.at(MigrationStep.STUN, "web")
    faults.at(MigrationStep.STUN, "web")                 # count 1: fired already
    with pytest.raises(PartKilled):
        faults.at(MigrationStep.RESUME)
    assert killed == [True]
    with pytest.raises(SystemFault, match=r"injected at commit on esx-a1 \(rule "):
        faults.at(MigrationStep.COMMIT)


def test_a_frame_rule_is_taken_by_the_page_stream_not_at_the_step():
    faults = FaultInjector("esx-a1")
    faults.add(FaultRule(MigrationStep.PRECOPY_ROUND, FaultAction.CORRUPT_FRAME))
    faults.at(MigrationStep.PRECOPY_ROUND)               # nothing: the rule is for the stream
    assert faults.frame_tamper() is FaultAction.CORRUPT_FRAME
    assert faults.frame_tamper() is None

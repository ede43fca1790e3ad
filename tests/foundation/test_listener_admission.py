"""Admission of calls and streams, without gRPC: who is counted, which limit refuses, what is given back."""

from __future__ import annotations

import pytest

from linkedmode.crypto.identity import Identity
from linkedmode.model.faults import UnableToAllocateResource
from linkedmode.rpc.admission import Admission, Lane
from linkedmode.topology.spec import ListenerLimits

AUDITOR = Identity("vsphere.local", "user", "auditor")
OPERATOR = Identity("vsphere.local", "user", "operator")
ADMIN = Identity("vsphere.local", "user", "administrator")
PEER = Identity("vsphere.local", "vcenter", "vc-a")
LIMITS = ListenerLimits(calls_per_principal=2, streams_per_principal=3, user_streams=5)


@pytest.mark.parametrize(("who", "lane", "streaming", "admitted", "limit"), [
    (AUDITOR, Lane.USER, False, 2, "calls_per_principal"),
    (AUDITOR, Lane.USER, True, 3, "streams_per_principal"),
    (ADMIN, Lane.ADMIN, False, 2, "calls_per_principal"),
    (ADMIN, Lane.ADMIN, True, 3, "streams_per_principal"),
    (PEER, Lane.PEER, False, 50, None),    # peers are parts of the estate: counted, never refused
    (PEER, Lane.PEER, True, 50, None),
])
def test_each_principal_is_admitted_up_to_its_limit(who, lane, streaming, admitted, limit):
    admission = Admission(LIMITS, "vc-b")
    tickets = [admission.admit(who, lane, streaming=streaming) for _ in range(admitted)]
    assert admission.held(who) == ((0, admitted) if streaming else (admitted, 0))
    if limit is not None:
        with pytest.raises(UnableToAllocateResource) as refused:
            admission.admit(who, lane, streaming=streaming)
        assert refused.value.arguments["limit"] == limit and refused.value.object == str(who)
        assert refused.value.code == "RESOURCE_EXHAUSTED"
    for ticket in tickets:
        admission.release(ticket)
    assert admission.held(who) == (0, 0)
    admission.admit(who, lane, streaming=streaming)   # given back: admitted again


def test_calls_and_streams_are_counted_apart_and_per_principal():
    admission = Admission(LIMITS, "vc-b")
    for _ in range(3):
        admission.admit(AUDITOR, Lane.USER, streaming=True)
    admission.admit(AUDITOR, Lane.USER, streaming=False)      # its streams do not use up its calls
    admission.admit(OPERATOR, Lane.USER, streaming=True)      # nor another user's streams
    assert admission.held(AUDITOR) == (1, 3) and admission.held(OPERATOR) == (0, 1)


def test_users_streams_together_are_bounded_but_admins_and_peers_streams_are_not_among_them():
    admission = Admission(LIMITS, "vc-b")
    for _ in range(3):
        admission.admit(ADMIN, Lane.ADMIN, streaming=True)    # an admin's streams leave users theirs
    for who in (AUDITOR, AUDITOR, AUDITOR, OPERATOR, OPERATOR):
        admission.admit(who, Lane.USER, streaming=True)
    for _ in range(10):
        admission.admit(PEER, Lane.PEER, streaming=True)
    with pytest.raises(UnableToAllocateResource) as refused:
        admission.admit(Identity("vsphere.local", "user", "reader"), Lane.USER, streaming=True)
    assert str(refused.value) == "UnableToAllocateResource: vc-b has 5 streams of users open, its limit: try again later"
    assert refused.value.arguments["limit"] == "user_streams"
    # users holding every stream the listener allows them do not starve an admin (its own limit still holds)
    admin = Identity("vsphere.local", "user", "root")
    tickets = [admission.admit(admin, Lane.ADMIN, streaming=True) for _ in range(3)]
    with pytest.raises(UnableToAllocateResource) as refused:
        admission.admit(admin, Lane.ADMIN, streaming=True)
    assert refused.value.arguments["limit"] == "streams_per_principal"
    admission.release(tickets[0])
    admission.admit(admin, Lane.ADMIN, streaming=True)
    with pytest.raises(UnableToAllocateResource):                 # an admin's stream given back is no user's
        admission.admit(OPERATOR, Lane.USER, streaming=True)

"""Row V11: CheckRelocate answers the errors and warnings a RelocateVm with the same spec would meet, from
the same checks, and changes nothing."""

from __future__ import annotations

import grpc
import pytest
from estate_helpers import call_fault, client_of, wait_task
from migration_estate import fault_of, locator_of, migration_estate, vm_names

from linkedmode.model.inventory import Host, Vm
from linkedmode.v1 import common_pb2, vcenter_pb2


@pytest.fixture(scope="module")
def estate():
    with migration_estate() as running:
        yield running


def across(estate, to: str, host: str, datastore: str, pool: str, **locator) -> vcenter_pb2.RelocateSpec:
    service = locator_of(estate, to)
    for field, value in locator.items():
        setattr(service, field, value)
    return vcenter_pb2.RelocateSpec(host=host, datastore=datastore, pool=pool, service=service)


def to_b(estate, host: str = "b70", **locator) -> vcenter_pb2.RelocateSpec:
    return across(estate, "vc-b", host, "ds-b", "cluster-b", **locator)


# (VM, the spec, made once the estate runs): every refusal a relocate meets before it starts
REFUSALS = [
    ("opportunistic", lambda e: to_b(e, instance_uuid="11111111-2222-3333-4444-555555555555", url="")),   # unknown vCenter
    ("opportunistic", lambda e: to_b(e, ssl_thumbprint="AB:CD")),                                         # wrong thumbprint
    ("opportunistic", lambda e: across(e, "vc-x", "x70", "ds-x", "cluster-x")),                           # another SSO domain
    ("required", lambda e: across(e, "vc-old", "o67", "ds-old", "cluster-old")),                          # row X2
    ("required", lambda e: to_b(e, host="b-noaes")),                                                      # row E3
    ("twin", lambda e: to_b(e)),                                                                          # row X4
    ("nkp", lambda e: to_b(e)),                                                                           # row X6
    ("opportunistic", lambda e: vcenter_pb2.RelocateSpec(host="a70")),                                    # already there
    ("opportunistic", lambda e: vcenter_pb2.RelocateSpec(host="nope")),                                   # no such host
]


def footprint(estate) -> tuple:
    """Everything a relocate would change: inventories, events, tasks, journals, arrivals, slots held."""
    return tuple((name, sorted((v.moid, v.host) for v in vc.state.all(Vm)), vc.state.store.last_event_key(),
                  len(vc.state.tasks()), vc.state.journal("outgoing"), vc.state.journal("arrival"), len(vc.arrivals.pending()),
                  sorted((h.name, vc.slots.in_use(h.moid)) for h in vc.state.all(Host)))
                 for name, vc in sorted((n, s.vcenter) for n, s in estate.vcenters.items()))


@pytest.mark.parametrize("vm,spec", REFUSALS, ids=[f"{i}-{vm}" for i, (vm, _) in enumerate(REFUSALS)])
def test_check_relocate_agrees_with_relocate_vm_and_changes_nothing(estate, vm, spec):
    vc_a = client_of(estate, "vc-a")
    request = vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name=vm), spec=spec(estate))
    before = footprint(estate)
    check = vc_a.api.CheckRelocate(request)
    assert footprint(estate) == before
    assert len(check.errors) == 1 and not check.warnings and not check.host
    refused = fault_of(wait_task(vc_a, vc_a.api.RelocateVm(request)))
    assert (check.errors[0].name, check.errors[0].message) == (refused.name, refused.message)
    assert vm in vm_names(vc_a)


def test_a_spec_refused_before_any_task_is_an_error_too(estate):
    vc_a = client_of(estate, "vc-a")
    request = vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="opportunistic"),
                                            spec=vcenter_pb2.RelocateSpec(service=locator_of(estate, "vc-b")))
    check = vc_a.api.CheckRelocate(request)
    code, fault = call_fault(vc_a.api.RelocateVm, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [(e.name, e.message) for e in check.errors] == [(fault.name, fault.message)]


def test_a_move_that_would_go_ahead_says_how(estate):
    vc_a = client_of(estate, "vc-a")
    check = vc_a.api.CheckRelocate(vcenter_pb2.RelocateVmRequest(vm=common_pb2.ObjectRef(name="required"), spec=to_b(estate)))
    assert not check.errors and not check.warnings
    assert (check.vcenter, check.host, check.hot, check.encrypted) == ("vc-b", "b70", True, True)
    assert "required" in vm_names(vc_a) and "required" not in vm_names(client_of(estate, "vc-b"))


@pytest.mark.parametrize("vm,host,warning", [
    ("opportunistic", "b-noaes", "opportunistic would move in plaintext: fell back to plaintext: host b-noaes has no AES-NI"),
    ("off-required", "b70", "off-required is powered off: its disks would cross in the clear (NFC); encrypt the VM to protect "
                            "them (row D3)"),
])
def test_what_goes_ahead_unlike_the_setting_is_a_warning(estate, vm, host, warning):
    check = client_of(estate, "vc-a").api.CheckRelocate(vcenter_pb2.RelocateVmRequest(
        vm=common_pb2.ObjectRef(name=vm), spec=to_b(estate, host=host)))
    assert not check.errors and not check.encrypted
    assert [(w.name, w.message) for w in check.warnings] == [("MigrationFeatureNotSupported", warning)]

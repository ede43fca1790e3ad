"""A password given in a topology or a ServiceLocator is never kept in clear: not in the state
directory, the logs, the events, the tasks or any fault message (row X7)."""

from __future__ import annotations

import logging

import pytest
import yaml
from cross_domain_helpers import corp_events, corp_locator, corp_vm_names, to_corp
from estate_helpers import client_of

from linkedmode.estate import start_estate
from linkedmode.model.faults import InvalidLogin
from linkedmode.rpc.faults import fault_from_proto
from linkedmode.topology import TopologyError, default_topology_text, parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

PASSWORD = "Sesame-4f9c1d-clear"
WRONG = "Wrong-77ab20-clear"
ADMIN = ("administrator", PASSWORD)


def topology_with(**user: object):
    data = yaml.safe_load(default_topology_text())
    corp = next(d for d in data["sso_domains"] if d["name"] == "corp.local")
    corp["users"] = [{"name": "administrator", "role": "admin", **user}]
    return parse_topology(data, "secrecy-test")


def test_a_clear_password_is_hashed_at_load_and_never_shown():
    topology = topology_with(password=PASSWORD)
    user = topology.domain("corp.local").users[0]
    assert user.password_hash.startswith("scrypt$16384$8$1$") and PASSWORD not in user.password_hash
    assert PASSWORD not in repr(topology) and "password_hash" not in repr(user)


@pytest.mark.parametrize("user,message", [
    ({"password": PASSWORD, "password_hash": "scrypt$1$1$1$AA==$AA=="}, "give password or password_hash, not both"),
    ({"password": 12345678}, "expected a non-empty string (quote it if YAML reads it as something else)"),
    ({"password_hash": PASSWORD}, "not a password hash like scrypt$16384$8$1$SALT$HASH"),
])
def test_a_bad_password_entry_is_refused_without_showing_it(user, message):
    with pytest.raises(TopologyError) as refused:
        topology_with(**user)
    assert message in str(refused.value)
    assert PASSWORD not in str(refused.value) and "12345678" not in str(refused.value)


@pytest.fixture
def moves(tmp_path, caplog):
    """A move refused for a wrong password, then one that succeeds, in an estate with a state directory."""
    caplog.set_level(logging.DEBUG)
    state = tmp_path / "state"
    with start_estate(topology_with(password=PASSWORD), state) as estate:
        refused = to_corp(estate, "app-required", corp_locator(estate, password=WRONG, reader=ADMIN))
        done = to_corp(estate, "app-required", corp_locator(estate, password=PASSWORD, reader=ADMIN))
        client = client_of(estate, "vc-a")
        try:
            events = list(client.api.QueryEvents(vcenter_pb2.EventFilter()).events)
            tasks = list(client.api.ListTasks(vcenter_pb2.ListTasksRequest()).tasks)
        finally:
            client.close()
        events += corp_events(estate, reader=ADMIN)
        assert "app-required" in corp_vm_names(estate, reader=ADMIN)
        yield state, refused, done, events, tasks, caplog.text


def test_the_password_is_nowhere_after_a_refused_and_a_successful_move(moves):
    state, refused, done, events, tasks, logs = moves
    assert isinstance(fault_from_proto(refused.error), InvalidLogin)
    assert done.state == common_pb2.TASK_STATE_SUCCESS, done.error
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.suffix in (".db", ".sqlite") or "inventory" in p.name for p in files), files
    planted = state / "planted-for-the-search"      # the search finds the password where it is
    planted.write_bytes(b"x" + PASSWORD.encode() + b"x")
    assert [p for p in [*files, planted] if PASSWORD.encode() in p.read_bytes()] == [planted]
    planted.unlink()
    for secret in (PASSWORD, WRONG):
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"the password is in {path}"
        assert secret not in logs
        assert not [e for e in events if secret in str(e)]
        assert not [t for t in tasks if secret in str(t)]
        assert secret not in str(refused) and secret not in str(fault_from_proto(refused.error))


def test_a_login_address_is_read_and_checked():
    data = yaml.safe_load(default_topology_text())
    corp = next(d for d in data["sso_domains"] if d["name"] == "corp.local")["vcenters"][0]
    corp["login_address"] = "127.0.0.1:0"
    assert parse_topology(data, "t").domain("corp.local").vcenters[0].login_address == "127.0.0.1:0"
    corp["login_address"] = "nowhere"
    with pytest.raises(TopologyError) as refused:
        parse_topology(data, "t")
    assert str(refused.value).endswith("login_address: 'nowhere' is not an address like 127.0.0.1:8443 (host:port, port 0..65535)")

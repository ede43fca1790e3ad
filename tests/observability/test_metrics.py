"""Prometheus metrics, scraped over HTTP from each part as Prometheus would: each part has a registry and
a port of its own, and after a migration they show it (by state and mode, bytes, rounds, downtime,
the API calls), while it runs they show it in flight (slots in use, keys held), and after it no key."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from estate_helpers import call_fault, client_of, fault_rule, wait_task
from migration_estate import migration_estate, to_vc_b
from prometheus_client.parser import text_string_to_metric_families

from linkedmode.cli.top import in_flight, screen
from linkedmode.client import VCenterClient
from linkedmode.estate import Estate
from linkedmode.topology import TopologyError, parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with migration_estate() as running:
        yield running


@pytest.fixture(scope="module")
def vc_a(estate: Estate) -> Iterator[VCenterClient]:
    client = client_of(estate, "vc-a")
    yield client
    client.close()


def test_each_part_serves_its_metrics_on_a_port_of_its_own_and_says_where(estate: Estate, vc_a: VCenterClient) -> None:
    about = vc_a.api.GetAbout(vcenter_pb2.GetAboutRequest())
    assert about.metrics_url.startswith("http://127.0.0.1:") and about.metrics_url.endswith("/metrics")
    urls = {s.vcenter.metrics_url for s in estate.vcenters.values()} | {h.metrics_url for h in estate.hosts.values()}
    assert len(urls) == len(estate.vcenters) + len(estate.hosts)   # every part its own port
    endpoints = estate.endpoints()["sso_domains"][0]["vcenters"][0]
    assert endpoints["metrics"] == about.metrics_url and set(endpoints["host_metrics"]) == set(endpoints["hosts"])
    assert "linkedmode_vmotion_slots_limit" in urllib.request.urlopen(about.metrics_url, timeout=10).read().decode()


def test_after_a_migration_the_metrics_show_it_by_state_and_mode(estate: Estate, vc_a: VCenterClient) -> None:
    before = scrape(estate.vcenters["vc-a"].vcenter.metrics_url)
    task = to_vc_b(estate, vc_a, "required")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task
    stream = task.migration.stream
    after = scrape(estate.vcenters["vc-a"].vcenter.metrics_url)
    ended = ("linkedmode_migrations_ended_total", {"state": "success", "mode": "required", "transit": "encrypted"})
    assert value(after, ended[0], **ended[1]) == value(before, ended[0], **ended[1]) + 1
    grew = {name: value(after, name) - value(before, name) for name in (
        "linkedmode_migration_bytes_total", "linkedmode_migration_rounds_total", "linkedmode_migration_downtime_seconds_count")}
    assert grew == {"linkedmode_migration_bytes_total": stream.bytes_sent + stream.disk_bytes,
                    "linkedmode_migration_rounds_total": stream.rounds, "linkedmode_migration_downtime_seconds_count": 1}
    assert value(after, "linkedmode_migration_downtime_seconds_sum") >= stream.downtime_ms / 1e3 - 1e-9
    calls = value(after, "linkedmode_api_calls_total", service="linkedmode.v1.VCenter", method="RelocateVm", code="OK")
    assert calls >= 1
    assert value(after, "linkedmode_api_call_seconds_count", service="linkedmode.v1.VCenter", method="RelocateVm") == calls
    # the destination counts the peer calls it answered, in its own registry
    at_b = scrape(estate.vcenters["vc-b"].vcenter.metrics_url)
    assert value(at_b, "linkedmode_api_calls_total", service="linkedmode.v1.LinkedMode", method="PrepareMigration", code="OK") >= 1
    assert value(at_b, "linkedmode_api_calls_total", service="linkedmode.v1.VCenter", method="RelocateVm", code="OK") == 0
    assert value(at_b, "linkedmode_migrations_ended_total", state="success", mode="required", transit="encrypted") == 0
    for host in ("a70", "b70"):
        assert value(scrape(estate.hosts[host].metrics_url), "linkedmode_host_migration_keys_live") == 0


def test_a_refused_call_is_counted_under_its_status_code(estate: Estate) -> None:
    auditor = client_of(estate, "vc-a", "auditor")
    try:
        code, fault = call_fault(auditor.api.PowerOffVm, common_pb2.ObjectRef(name="disabled"))
        assert (code.name, fault.name) == ("PERMISSION_DENIED", "NoPermission")
    finally:
        auditor.close()
    # the count is taken as the call ends on the server, which may be just after the client hears
    deadline = time.monotonic() + 5
    while value(scrape(estate.vcenters["vc-a"].vcenter.metrics_url), "linkedmode_api_calls_total",
                service="linkedmode.v1.VCenter", method="PowerOffVm", code="PERMISSION_DENIED") < 1:
        assert time.monotonic() < deadline, "the refused PowerOffVm was never counted"
        time.sleep(0.05)


class OneVCenter:
    """What `top` asks of a session: the clients of the vCenters to look at."""

    def __init__(self, client: VCenterClient) -> None:
        self._client = client

    def all(self) -> list[VCenterClient]:
        return [self._client]


def test_while_a_migration_runs_the_metrics_and_top_show_it_in_flight_with_its_slots_and_keys(
        estate: Estate, vc_a: VCenterClient, capsys: pytest.CaptureFixture[str]) -> None:
    admin = client_of(estate, "vc-a")
    try:
        admin.emulator.AddFaultRule(fault_rule("precopy_round", "delay", part="a70", vm="opportunistic",
                                               delay_seconds=1.5, count=1))
        started = admin.api.RelocateVm(vcenter_pb2.RelocateVmRequest(
            vm=common_pb2.ObjectRef(name="opportunistic"), spec=vcenter_pb2.RelocateSpec(host="a67")))
        seen: list[Samples] = []
        tops: list[list[tuple[str, common_pb2.Task]]] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set() and len(seen) < 200:
                seen.append(scrape(estate.vcenters["vc-a"].vcenter.metrics_url) | scrape(estate.hosts["a70"].metrics_url))
                tops.append(in_flight(OneVCenter(admin)))   # what `linkedmode top` lists
                done.wait(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        task = wait_task(admin, started)
        done.set()
        watcher.join(10)
    finally:
        admin.close()
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task
    flying = [s for s in seen if value(s, "linkedmode_migrations_in_flight", state="running", mode="opportunistic") == 1]
    assert flying, "no scrape saw the migration in flight"
    assert any(value(s, "linkedmode_vmotion_slots_in_use", host="a70") == 1 for s in flying)
    assert any(value(s, "linkedmode_host_migration_keys_live") == 1 for s in flying)
    listed = [t for found in tops for vc, t in found if t.entity_name == "opportunistic"]
    assert listed and listed[0].key == task.key and {t.description_id for t in listed} == {"VirtualMachine.relocate"}
    screen([("vc-a", listed[-1])], time.time())
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].endswith("1 migrations in flight (0 queued, 1 running), 0 batches")
    assert shown[2].split()[:5] == ["vc-a", task.key, "relocate", "opportunistic", "running"]
    final = scrape(estate.vcenters["vc-a"].vcenter.metrics_url)
    assert value(final, "linkedmode_vmotion_slots_in_use", host="a70") == 0
    assert value(final, "linkedmode_vmotion_slots_limit", host="a-slow") == 4


def test_two_parts_in_one_process_never_share_a_registry(estate: Estate) -> None:
    a, b = estate.vcenters["vc-a"], estate.vcenters["vc-b"]
    assert a.metrics is not None and b.metrics is not None and a.metrics.registry is not b.metrics.registry


def test_a_bad_metrics_address_in_a_topology_is_one_clear_line() -> None:
    data = {"sso_domains": [{"name": "vsphere.local", "vcenters": [{"name": "vc-a", "version": "7.0.3", "metrics_address": "nope"}]}]}
    with pytest.raises(TopologyError) as bad:
        parse_topology(data, "estate.yaml")
    assert str(bad.value) == ("estate.yaml: sso_domains[0].vcenters[0].metrics_address: 'nope' is not an address like "
                              "127.0.0.1:8443 (host:port, port 0..65535)")
    data["sso_domains"][0]["vcenters"][0]["metrics_address"] = "127.0.0.1:0"
    assert parse_topology(data, "estate.yaml").sso_domains[0].vcenters[0].metrics_address == "127.0.0.1:0"


def test_a_metrics_listener_sleeps_until_scraped_and_stops_at_once() -> None:
    """Its thread waits for a request without a timeout (prometheus_client's own woke twice a second); a
    scrape is answered, and `stop` wakes the thread and returns within a moment, the port closed."""
    from linkedmode.metrics.server import PartMetrics

    metrics = PartMetrics("vc-x")
    url = metrics.serve("127.0.0.1:0")
    thread = metrics._thread
    assert thread is not None and thread.native_id is not None
    time.sleep(0.2)
    before = _wakeups(thread.native_id)
    time.sleep(1.5)
    assert _wakeups(thread.native_id) - before <= 1
    metrics.api.observe("/linkedmode.v1.VCenter/GetVm", "OK", 0.001)
    assert value(scrape(url), "linkedmode_api_calls_total", service="linkedmode.v1.VCenter", method="GetVm", code="OK") == 1
    began = time.monotonic()
    metrics.stop()
    assert time.monotonic() - began < 2 and not thread.is_alive()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def _wakeups(native_id: int) -> int:
    with open(f"/proc/self/task/{native_id}/status", encoding="ascii") as status:
        fields = dict(line.split(":", 1) for line in status if "ctxt_switches" in line)
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])

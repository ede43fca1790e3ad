"""bench scale's plumbing on a tiny estate: each size in its own process, the calls from many clients.

No figure is checked against a target here (those live in the benchmark): only that every part ran,
answered and reported what it measured.
"""

from __future__ import annotations

import socket

import pytest

from linkedmode.bench.call_load import CallLoad, LoadFailed, run_load
from linkedmode.bench.scale import SECTIONS, ScaleSettings, run_scale_bench


def test_a_tiny_estate_reports_start_memory_calls_from_every_client_and_an_evacuation() -> None:
    settings = ScaleSettings(vms=24, vcenters=2, hosts_per_vcenter=2, memory_mb=(256, 1024), sizes=(0.5, 1.0, 2.0),
                             clients=4, seconds=0.5, rate=100, max_calls=200, evacuation_vms=3,
                             evacuation_memory_mb=32, warmup_s=0.2)
    lines: list[str] = []
    summary = run_scale_bench(settings, lines.append)
    start, calls = summary["start"], summary["calls"]
    assert [row["vms"] for row in start["sizes"]] == [12, 24, 48]
    assert all(row["rss_mib"] > 0 and row["answered_after_s"] > 0 for row in start["sizes"])
    assert {"double_start_ratio", "double_rss_ratio"} <= start.keys()
    saturated, at_rate = calls["saturated"], calls["at_rate"]
    assert saturated["failed"] == 0 and 0 < saturated["calls"] <= 200 and saturated["clients"] == 4
    assert saturated["p50_ms"] <= saturated["p99_ms"] and saturated["server_cpu_ms_per_call"] > 0
    assert calls["max_calls_per_s"] == saturated["calls_per_s"]
    # the open loop sends exactly rate x seconds calls, each counted from when it was due
    assert at_rate["offered_per_s"] == 100 and at_rate["calls"] + at_rate["failed"] == 50
    assert at_rate["warmup_calls"] == 20 and at_rate["warmup_s"] == 0.2     # run first, not counted
    assert calls["calls_per_s"] == at_rate["calls_per_s"] == 100.0 and calls["p99_ms"] == at_rate["p99_ms"] > 0
    evacuation = summary["evacuation"]
    assert evacuation["failures"] == 0 and not evacuation["slots_exceeded"]
    assert len(lines) == 7 and [key for key in summary if key in dict(SECTIONS)] == ["start", "calls", "evacuation"]


def test_sections_can_be_run_alone() -> None:
    settings = ScaleSettings(vms=4, vcenters=1, hosts_per_vcenter=1, sizes=(1.0,), clients=2, seconds=0.2, max_calls=20, warmup_s=0)
    summary = run_scale_bench(settings, lambda line: None, ("calls",))
    assert "start" not in summary and summary["calls"]["saturated"]["failed"] == 0
    assert "at_rate" in summary["calls"]     # offered 2,000 a second by default


def test_a_rate_of_zero_measures_the_saturated_calls_alone() -> None:
    settings = ScaleSettings(vms=4, vcenters=1, hosts_per_vcenter=1, sizes=(1.0,), clients=2, seconds=0.2, max_calls=20, rate=0,
                             warmup_s=0)
    calls = run_scale_bench(settings, lambda line: None, ("calls",))["calls"]
    assert "at_rate" not in calls and calls["saturated"]["calls"] > 0


def test_a_load_that_cannot_connect_says_where_in_one_line() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{unused.getsockname()[1]}"      # bound, never listening
        load = CallLoad(address, "/nonexistent-pki", vms=2, vcenters=1, clients=2, seconds=0.2, processes=2)
        with pytest.raises(LoadFailed) as failed:
            run_load(load)
    message = str(failed.value)
    assert message.startswith(f"a load process failed against {address}: ") and "\n" not in message

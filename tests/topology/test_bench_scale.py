"""bench scale's plumbing on a tiny estate: each size in its own process, the calls from many clients.

No figure is checked against a target here (those live in the benchmark): only that every part ran,
answered and reported what it measured.
"""

from __future__ import annotations

from linkedmode.bench.scale import SECTIONS, ScaleSettings, run_scale_bench


def test_a_tiny_estate_reports_start_memory_calls_from_every_client_and_an_evacuation() -> None:
    settings = ScaleSettings(vms=24, vcenters=2, hosts_per_vcenter=2, memory_mb=(256, 1024), sizes=(0.5, 1.0, 2.0),
                             clients=4, seconds=0.5, max_calls=200, evacuation_vms=3, evacuation_memory_mb=32)
    lines: list[str] = []
    summary = run_scale_bench(settings, lines.append)
    start, calls = summary["start"], summary["calls"]
    assert [row["vms"] for row in start["sizes"]] == [12, 24, 48]
    assert all(row["rss_mib"] > 0 and row["answered_after_s"] > 0 for row in start["sizes"])
    assert {"double_start_ratio", "double_rss_ratio"} <= start.keys()
    assert calls["failed"] == 0 and 0 < calls["calls"] <= 200 and calls["clients"] == 4
    assert calls["p50_ms"] <= calls["p99_ms"] and calls["server_cpu_ms_per_call"] > 0
    evacuation = summary["evacuation"]
    assert evacuation["failures"] == 0 and not evacuation["slots_exceeded"]
    assert len(lines) == 6 and [key for key in summary if key in dict(SECTIONS)] == ["start", "calls", "evacuation"]


def test_sections_can_be_run_alone() -> None:
    settings = ScaleSettings(vms=4, vcenters=1, hosts_per_vcenter=1, sizes=(1.0,), clients=2, seconds=0.2, max_calls=20)
    summary = run_scale_bench(settings, lambda line: None, ("calls",))
    assert "start" not in summary and summary["calls"]["failed"] == 0

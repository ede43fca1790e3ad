"""The evacuation benchmark, small: every figure is there, nothing failed, no host ran more vMotions than its limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from linkedmode.bench.evacuation import run_evacuation_benchmark


def test_a_small_evacuation_benchmark_reports_its_figures_within_the_limits() -> None:
    lines: list[str] = []
    figures = run_evacuation_benchmark(vms=10, memory_mb=16, destination_hosts=2, say=lines.append)
    assert lines == ["starting 2 vCenters, 3 hosts, 10 VMs of 16 MiB", "evacuating src-1 into dst"]
    assert (figures["moved"], figures["failures"], figures["failed"], figures["encrypted"]) == (10, 0, {}, 10)
    assert figures["wall_seconds"] > 0 and figures["total_downtime_ms"] > 0 and figures["stream_bytes"] > 0
    assert figures["slots_exceeded"] == []
    assert set(figures["slots"]) == {"src-1", "dst-1", "dst-2"}
    assert figures["slots"]["src-1"]["limit"] == 8 and 1 <= figures["slots"]["src-1"]["peak"] <= 8
    assert all(s["peak"] <= s["limit"] for s in figures["slots"].values())


def test_bench_evacuate_prints_one_json_object() -> None:
    done = subprocess.run([sys.executable, "-m", "linkedmode", "bench", "evacuate", "--vms", "4", "--memory-mb", "16",
                           "--destination-hosts", "1", "--json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "GRPC_VERBOSITY": "NONE"})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["moved"] == 4 and figures["failures"] == 0 and figures["slots"]["dst-1"]["peak"] >= 1


def test_an_evacuation_holds_on_its_destinations_what_the_guests_wrote_not_their_size() -> None:
    """4 running VMs of 512 MiB that wrote into 8 MiB each, moved hot into the other vCenter: once
    moved, the destination hosts hold what was written (in 2 MiB chunks), not the 2 GiB the VMs have;
    a guest is backed whole only from its prepare to its HELLO."""
    done = subprocess.run([sys.executable, "-m", "linkedmode", "bench", "evacuate", "--vms", "4", "--memory-mb", "512",
                           "--destination-hosts", "2", "--working-set-mb", "8", "--json"],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "GRPC_VERBOSITY": "NONE"})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["moved"] == 4 and figures["failures"] == 0
    assert 0 < figures["estate_up_rss_mib"] <= figures["peak_rss_mib"] and figures["end_rss_mib"] <= figures["peak_rss_mib"]
    assert figures["end_rss_mib"] - figures["estate_up_rss_mib"] < 256       # keeping every page would add 2048

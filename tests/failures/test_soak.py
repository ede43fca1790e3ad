"""A short soak: concurrent migrations under random dropped connections and killed hosts; nothing is
lost, no key is left (`linkedmode soak --migrations 200` runs the long one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from linkedmode.soak import run_soak


def test_a_short_soak_loses_nothing():
    report = run_soak(migrations=16, seconds=30, concurrency=4, seed=3)
    assert report.migrations == 16 and report.succeeded + report.failed_safely == 16
    assert report.succeeded > 0
    assert (report.lost, report.keys_left, report.problems) == (0, 0, []), report.problems


def test_the_soak_command_prints_one_json_object():
    done = subprocess.run([sys.executable, "-m", "linkedmode", "soak", "--migrations", "6", "--seed", "5", "--json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "GRPC_VERBOSITY": "NONE"})
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"     # the report names what was lost, if anything
    report = json.loads(done.stdout)
    assert {"migrations", "succeeded", "failed_safely", "lost", "keys_left", "faults_fired"} <= set(report)
    assert report["migrations"] == 6 and report["lost"] == 0 and report["keys_left"] == 0

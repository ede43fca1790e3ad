"""`linkedmode deploy kubernetes`: what it writes, where, with which modes; and the errors a user can hit."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import yaml
from kube_models import validate
from small_estate import SMALL

from linkedmode.cli.main import main


def test_it_writes_manifests_and_client_credentials_owner_only(tmp_path, capsys):
    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL)
    out = tmp_path / "out"
    assert main(["deploy", "kubernetes", str(topology), "--out", str(out), "--image", "registry.example/linkedmode:1",
                 "--namespace", "lab", "--storage", "2Gi", "--storage-class", "fast", "--datastores-access", "ReadWriteOnce"]) == 0
    printed = capsys.readouterr().out
    assert f"kubectl apply -f {out / 'estate.yaml'}" in printed
    objects = list(yaml.safe_load_all((out / "estate.yaml").read_text()))
    for obj in objects:
        validate(obj)
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "vcenter-vc-b")
    assert sts["metadata"]["namespace"] == "lab"
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/linkedmode:1"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    datastores = next(o for o in objects if o["kind"] == "PersistentVolumeClaim")
    assert datastores["spec"]["accessModes"] == ["ReadWriteOnce"] and datastores["spec"]["storageClassName"] == "fast"
    assert stat.S_IMODE((out / "estate.yaml").stat().st_mode) == 0o600   # it holds the parts' keys
    assert "&id" not in (out / "estate.yaml").read_text()   # no YAML aliases: every reader of manifests takes it
    assert (out / "pki" / "vsphere.local" / "user" / "administrator.key").exists()
    assert (out / "ca" / "vsphere.local" / "ca.key").exists()
    assert not list((out / "pki").rglob("ca.key"))


def test_the_ca_can_live_elsewhere(tmp_path):
    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL)
    assert main(["deploy", "kubernetes", str(topology), "--out", str(tmp_path / "out"), "--ca-dir", str(tmp_path / "vault")]) == 0
    assert (tmp_path / "vault" / "vsphere.local" / "ca.key").exists() and not (tmp_path / "out" / "ca").exists()


def test_without_a_topology_it_renders_the_built_in_one(tmp_path):
    assert main(["deploy", "kubernetes", "--out", str(tmp_path)]) == 0
    names = {o["metadata"]["name"] for o in yaml.safe_load_all((tmp_path / "estate.yaml").read_text()) if o["kind"] == "StatefulSet"}
    assert {"vcenter-vc-a", "vcenter-vc-legacy", "host-esx-a1"} <= names


def test_a_bad_namespace_is_refused_with_the_rule(tmp_path, capsys):
    assert main(["deploy", "kubernetes", "--out", str(tmp_path / "out"), "--namespace", "Lab_1"]) == 1
    assert capsys.readouterr().err.strip() == ("linkedmode: namespace 'Lab_1' is not a DNS label (at most 63 lowercase letters, "
                                                "digits and '-', starting and ending with a letter or digit)")
    assert not (tmp_path / "out").exists()


def test_a_bad_storage_size_is_refused(tmp_path, capsys):
    assert main(["deploy", "kubernetes", "--out", str(tmp_path), "--storage", "lots"]) == 1
    assert "storage 'lots' is not a Kubernetes quantity such as 1Gi or 500Mi" in capsys.readouterr().err


def test_a_bad_access_mode_is_refused(tmp_path, capsys):
    assert main(["deploy", "kubernetes", "--out", str(tmp_path), "--datastores-access", "ReadOnlyMany"]) == 1
    assert "datastores access mode 'ReadOnlyMany' is not one of ReadWriteMany, ReadWriteOnce" in capsys.readouterr().err


def test_a_bad_topology_is_refused_as_every_command_refuses_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sso_domains:\n  - name: vsphere.local\n    vcenters:\n      - name: vc-a\n        version: seven\n")
    done = subprocess.run([sys.executable, "-m", "linkedmode", "deploy", "kubernetes", str(bad), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"linkedmode: bad topology: {bad}: sso_domains[0].vcenters[0].version:")
    assert not (tmp_path / "out").exists()


def test_the_containerfile_builds_the_image_the_pods_expect():
    text = (Path(__file__).resolve().parents[2] / "Containerfile").read_text()
    from linkedmode.deploy.parts import MANAGEMENT_PORT, VMOTION_PORT
    from linkedmode.deploy.workloads import RUN_AS, STATE_DIR

    assert text.splitlines()[next(i for i, line in enumerate(text.splitlines()) if line.startswith("FROM"))] == "FROM python:3.11-slim"
    assert 'ENTRYPOINT ["linkedmode"]' in text
    assert f"USER {RUN_AS}:{RUN_AS}" in text and f"EXPOSE {MANAGEMENT_PORT} {VMOTION_PORT}" in text and STATE_DIR in text

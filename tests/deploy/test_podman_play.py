"""The rendered manifests of a small topology, played by podman: a cross-vCenter encrypted vMotion through them.

Needs podman able to run rootful pods (the test reaches the pods' IPs on a podman network from this
host) and builds the image from the Containerfile; it is skipped, saying why, where it cannot run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from podman_play import podman_objects
from small_estate import SMALL, wait_for_hosts

from linkedmode.client import Placement, connect_vcenter, relocate_spec, run_relocate, task_fault
from linkedmode.crypto.domain_pki import Pki
from linkedmode.crypto.identity import Identity
from linkedmode.deploy.credentials import DeployAuthorities
from linkedmode.deploy.manifests import to_yaml
from linkedmode.deploy.parts import ClusterNames
from linkedmode.deploy.render import DeployOptions, render_estate
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/linkedmode:podman-test"
NETWORK = "linkedmode-podman-test"
SUBNET = "10.89.177.0/24"
START_SECONDS = 180
BUILD_SECONDS = 900


def _podman_cannot_run_pods() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed here: the manifests are not played (the rendering tests still check them)"
    if os.geteuid() != 0:
        return "podman runs rootless here: the test reaches the pods' IPs on a podman network, which needs rootful podman"
    info = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return f"podman cannot run pods here: {info.stderr.strip().splitlines()[-1] if info.stderr.strip() else 'podman info failed'}"
    return None


_WHY_NOT = _podman_cannot_run_pods()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    out = tmp_path_factory.mktemp("podman")
    podman("build", "-t", IMAGE, "-f", str(REPO / "Containerfile"), str(REPO), timeout=BUILD_SECONDS)
    names = ClusterNames("lmtest", "cluster.local")
    topology = parse_topology(yaml.safe_load(SMALL), "small")
    authorities = DeployAuthorities(topology, out / "ca")
    objects = render_estate(topology, SMALL, authorities, DeployOptions(names, IMAGE))
    authorities.save_users(topology, out / "pki")
    pods, ips = podman_objects(objects, names, SUBNET)
    manifest = out / "pods.yaml"
    manifest.write_text(to_yaml(pods))
    podman("network", "rm", "-f", NETWORK, check=False)
    podman("network", "create", "--subnet", SUBNET, NETWORK)
    try:
        podman("kube", "play", "--network", NETWORK, *[a for ip in ips for a in ("--ip", ip)], str(manifest), timeout=300)
        pod_ip = {p["metadata"]["name"]: ip for p, ip in zip([p for p in pods if p["kind"] == "Pod"], ips, strict=True)}
        yield out, pod_ip, [p for p in pods if p["kind"] == "Pod"]
    finally:
        podman("kube", "play", "--down", str(manifest), check=False, timeout=300)
        podman("network", "rm", "-f", NETWORK, check=False)


def vcenter(out: Path, pod_ip: dict[str, str], name: str):
    admin = Pki(out / "pki").credential(Identity("vsphere.local", "user", "administrator"))
    client = connect_vcenter(f"{pod_ip[f'vcenter-{name}-0']}:8443", admin, name)
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            client.api.GetAbout(vcenter_pb2.GetAboutRequest(), timeout=5)
            return client
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_a_vm_moves_encrypted_between_vcenters_in_pods(played):
    out, pod_ip, _ = played
    vc_a, vc_b = vcenter(out, pod_ip, "vc-a"), vcenter(out, pod_ip, "vc-b")
    try:
        wait_for_hosts(vc_a, vc_b)
        spec = relocate_spec(vc_a, vc_b, Placement("esx-b", "ds-b", "cluster-b"), keep_datastore=False)
        task = run_relocate(vc_a, "app", spec)
        assert task_fault(task) is None, task
        assert task.migration.encrypted and task.migration.hot
        assert vc_b.api.GetVm(common_pb2.ObjectRef(name="app")).name == "app"
        assert "app" not in [vm.name for vm in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms]
    finally:
        vc_a.close()
        vc_b.close()


def test_every_pod_passes_its_readiness_probe(played):
    _, _, pods = played
    for pod in pods:
        (container,) = pod["spec"]["containers"]
        probe = container["readinessProbe"]["exec"]["command"]
        done = podman("exec", f"{pod['metadata']['name']}-{container['name']}", *probe, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

"""The rendered manifests of a small topology, their pods played as processes on this machine (see local_pods):
every pod passes its own probe, and a VM moves encrypted from one vCenter to the other through them.

Runs as root on Linux once `linkedmode serve` starts vCenter parts; skipped, saying why, elsewhere.
"""

from __future__ import annotations

import time

import pytest
import yaml
from local_pods import play, why_pods_cannot_run_here
from small_estate import SMALL, wait_for_hosts

from linkedmode.client import Placement, connect_vcenter, relocate_spec, run_relocate, task_fault
from linkedmode.crypto.domain_pki import Pki
from linkedmode.crypto.identity import Identity
from linkedmode.deploy.credentials import DeployAuthorities
from linkedmode.deploy.parts import ClusterNames
from linkedmode.deploy.render import DeployOptions, render_estate
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

START_SECONDS = 90
_WHY_NOT = why_pods_cannot_run_here()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "")


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    out = tmp_path_factory.mktemp("pods")
    names = ClusterNames("lmlocal")
    topology = parse_topology(yaml.safe_load(SMALL), "small")
    authorities = DeployAuthorities(topology, out / "ca")
    objects = render_estate(topology, SMALL, authorities, DeployOptions(names))
    authorities.save_users(topology, out / "pki")
    pods = play(objects, names, out)
    try:
        deadline = time.monotonic() + START_SECONDS
        for pod in pods:
            sts = next(o for o in objects if o["kind"] == "StatefulSet" and f"{o['metadata']['name']}-0" == pod.name)
            probe = sts["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["command"]
            while (done := pod.run_inside(probe)).returncode != 0:
                assert pod.process is not None and pod.process.poll() is None, (pod.folder / "pod.log").read_text()
                assert time.monotonic() < deadline, f"{pod.name} never ready: {done.stdout}{done.stderr}"
                time.sleep(1)
        yield out, {pod.name: pod for pod in pods}
    finally:
        for pod in pods:
            pod.stop()


def client(out, pods, name: str):
    admin = Pki(out / "pki").credential(Identity("vsphere.local", "user", "administrator"))
    return connect_vcenter(f"{pods[f'vcenter-{name}-0'].ip}:8443", admin, name)


def test_every_pod_is_its_own_process_and_passes_its_probe(estate):
    _, pods = estate
    assert len({pod.process.pid for pod in pods.values()}) == 4
    assert all(pod.process.poll() is None for pod in pods.values())


def test_a_vm_moves_encrypted_between_vcenters_through_the_pods(estate):
    out, pods = estate
    vc_a, vc_b = client(out, pods, "vc-a"), client(out, pods, "vc-b")
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

"""The rendered manifests of a small topology, their pods played as processes on this machine (see local_pods):
every pod passes its own probe, and a VM encrypted with a key of the KMS pod moves from one vCenter to
the other through them, the destination getting the key by id from that KMS.

Runs as root on Linux once `linkedmode serve` starts vCenter parts; skipped, saying why, elsewhere.
"""

from __future__ import annotations

import time

import pytest
import yaml
from local_pods import play, why_pods_cannot_run_here
from small_estate import SMALL, wait_for_hosts

from linkedmode.client import Placement, connect_vcenter, relocate_spec, run_relocate, task_fault, wait_task
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
                time.sleep(0.25)
        yield out, {pod.name: pod for pod in pods}
    finally:
        for pod in pods:
            pod.stop()


def client(out, pods, name: str):
    admin = Pki(out / "pki").credential(Identity("vsphere.local", "user", "administrator"))
    return connect_vcenter(f"{pods[f'vcenter-{name}-0'].ip}:8443", admin, name)


def test_every_pod_is_its_own_process_and_passes_its_probe(estate):
    _, pods = estate
    assert sorted(pods) == ["host-esx-a-0", "host-esx-b-0", "kms-kms-shared-0", "vcenter-vc-a-0", "vcenter-vc-b-0"]
    assert len({pod.process.pid for pod in pods.values()}) == 5
    assert all(pod.process.poll() is None for pod in pods.values())


def test_the_kms_probe_fails_once_the_kms_is_gone(estate):
    """The negative of the readiness above, on a KMS that is not there: the handshake probe says so."""
    _, pods = estate
    kms = pods["kms-kms-shared-0"]
    probe = ["python", "-m", "linkedmode.deploy.kms_probe", "kms-kms-shared-0.kms-kms-shared.lmlocal.svc.cluster.local:5697",
             "--credential-dir", "/var/lib/linkedmode/pki", "--timeout", "2"]
    done = kms.run_inside(probe)
    assert done.returncode == 1 and done.stdout.strip().endswith(":5697: connection refused"), done.stdout + done.stderr


def test_a_vm_encrypted_by_the_kms_pod_moves_between_vcenters_through_the_pods(estate):
    out, pods = estate
    vc_a, vc_b = client(out, pods, "vc-a"), client(out, pods, "vc-b")
    app = common_pb2.ObjectRef(name="app")
    try:
        wait_for_hosts(vc_a, vc_b)
        wait_task(vc_a, vc_a.api.PowerOffVm(app))
        encrypt = vcenter_pb2.CryptoSpec(encrypt=vcenter_pb2.CryptoSpecEncrypt(key_provider="kms-shared"))
        spec = vcenter_pb2.VirtualMachineConfigSpec(crypto=encrypt)
        wait_task(vc_a, vc_a.api.ReconfigVm(vcenter_pb2.ReconfigVmRequest(vm=app, spec=spec)))
        wait_task(vc_a, vc_a.api.PowerOnVm(app))
        key_id = vc_a.api.GetVm(app).crypto.key_id
        assert vc_a.api.GetVm(app).crypto.key_provider == "kms-shared" and key_id
        relocate = relocate_spec(vc_a, vc_b, Placement("esx-b", "ds-b", "cluster-b"), keep_datastore=False)
        task = run_relocate(vc_a, "app", relocate)
        assert task_fault(task) is None, task
        assert task.migration.encrypted and task.migration.hot
        moved = vc_b.api.GetVm(app)
        assert (moved.crypto.encrypted, moved.crypto.key_provider, moved.crypto.key_id) == (True, "kms-shared", key_id)
        assert "app" not in [vm.name for vm in vc_a.api.ListVms(vcenter_pb2.ListVmsRequest()).vms]
    finally:
        vc_a.close()
        vc_b.close()

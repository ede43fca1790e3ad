"""The podman form of the manifests (see podman_play) is valid too, and keeps every part's address on its own pod."""

from __future__ import annotations

import yaml
from kube_models import validate
from podman_play import podman_objects
from small_estate import SMALL

from linkedmode.deploy.credentials import DeployAuthorities
from linkedmode.deploy.parts import ClusterNames
from linkedmode.deploy.render import DeployOptions, render_estate
from linkedmode.topology import parse_topology


def pod_part(pod) -> str:
    args = pod["spec"]["containers"][0]["args"]
    return f"kms:{args[args.index('--name') + 1]}" if "--name" in args else args[1]


def test_podman_pods_are_valid_and_each_address_resolves_to_its_own_pod(tmp_path):
    names = ClusterNames("lmtest")
    topology = parse_topology(yaml.safe_load(SMALL), "small")
    objects = render_estate(topology, SMALL, DeployAuthorities(topology, tmp_path / "ca"), DeployOptions(names))
    played, ips = podman_objects(objects, names, "10.89.177.0/24")
    for obj in played:
        validate(obj)
    pods = [o for o in played if o["kind"] == "Pod"]
    assert [p["metadata"]["name"] for p in pods] == ["vcenter-vc-a-0", "vcenter-vc-b-0", "host-esx-a-0", "host-esx-b-0",
                                                     "kms-kms-shared-0"]
    claims = [o["metadata"]["name"] for o in played if o["kind"] == "PersistentVolumeClaim"]
    assert claims == ["linkedmode-datastores", "state-vcenter-vc-a-0", "state-vcenter-vc-b-0", "state-kms-kms-shared-0"]
    cluster = parse_topology(yaml.safe_load(next(o for o in objects if o["kind"] == "ConfigMap")["data"]["topology.yaml"]), "cm")
    ip_of = {pod_part(p): ip for p, ip in zip(pods, ips, strict=True)}
    addresses = [(f"vcenter:{vc.name}", vc.address) for _, vc in cluster.vcenters()]
    addresses += [(f"host:{h.name}", a) for _, vc in cluster.vcenters() for h in vc.hosts() for a in (h.address, h.vmotion.address)]
    for pod in pods:   # where the KMS listens, and where each vCenter dials it
        args = pod["spec"]["containers"][0]["args"]
        addresses += [("kms:kms-shared", a.partition("=")[2]) for a in args if a.startswith("kms-shared=")]
        addresses += [("kms:kms-shared", args[i + 1]) for i, a in enumerate(args) if a == "--listen"]
    assert len(addresses) == 2 + 2 * 2 + 3
    for pod in pods:   # in every pod, including the part's own (where it listens)
        aliases = {name: a["ip"] for a in pod["spec"]["hostAliases"] for name in a["hostnames"]}
        for part, address in addresses:
            assert aliases[address.rpartition(":")[0]] == ip_of[part]

"""Every address a part dials is a Service that exists, with the right port, in front of the right part."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from cluster_dns import Unresolved, resolve

from linkedmode.deploy.parts import ClusterNames
from linkedmode.deploy.topology_config import cluster_topology_text
from linkedmode.topology import default_topology, default_topology_text, load_topology


@pytest.fixture(scope="module")
def pods_topology(rendered, tmp_path_factory):
    """The ConfigMap's topology, read by the same loader `serve` uses."""
    path = Path(tmp_path_factory.mktemp("config")) / "topology.yaml"
    path.write_text(rendered.topology_text())
    return load_topology(path)


def dialled(topology):
    """(who dials, the address, what it should reach): a vCenter dials its hosts and the other vCenters of its
    domain; a host dials the vMotion address of any host a VM may move to, in any vCenter of any domain."""
    hosts = [h for _, vc in topology.vcenters() for h in vc.hosts()]
    for domain, vc in topology.vcenters():
        for h in vc.hosts():
            yield f"vcenter:{vc.name}", h.address, f"host:{h.name}", "management"
        for peer in domain.vcenters:
            if peer.name != vc.name:
                yield f"vcenter:{vc.name}", peer.address, f"vcenter:{peer.name}", "management"
        for source in vc.hosts():
            for h in hosts:
                if h.name != source.name:
                    yield f"host:{source.name}", h.vmotion.address, f"host:{h.name}", "vmotion"


def test_every_address_a_part_dials_is_a_service_port_in_front_of_that_part(rendered, pods_topology):
    checked = 0
    for who, address, reaches, port in dialled(pods_topology):
        target = resolve(rendered.objects, address)
        assert (target.serves, target.port_name) == (reaches, port), f"{who} dials {address}"
        checked += 1
    assert checked > 50


def test_every_part_listens_on_its_own_pods_name(rendered, pods_topology):
    """A part binds the address the topology gives it: its own pod's name, which the kubelet resolves to the pod's IP."""
    for _, vc in pods_topology.vcenters():
        assert resolve(rendered.objects, vc.address).serves == f"vcenter:{vc.name}"
        for h in vc.hosts():
            assert resolve(rendered.objects, h.address).serves == f"host:{h.name}"
            assert resolve(rendered.objects, h.vmotion.address).port_name == "vmotion"


def kms_dialled(rendered):
    """(vCenter, KMS name, address) for each `--kms NAME=ADDRESS` of a vCenter's pod."""
    for sts in rendered.of_kind("StatefulSet"):
        args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
        for i, arg in enumerate(args):
            if arg == "--kms":
                name, _, address = args[i + 1].partition("=")
                yield args[1], name, address


def test_every_kms_address_a_vcenter_dials_is_the_kmip_port_of_a_service_in_front_of_that_kms(rendered, pods_topology):
    found = sorted((vc, name) for vc, name, _ in kms_dialled(rendered))
    assert found == [("vcenter:vc-a", "kms-shared"), ("vcenter:vc-b", "kms-shared")]   # the vCenters that use it, no other
    for vc, name, address in kms_dialled(rendered):
        target = resolve(rendered.objects, address)
        assert (target.serves, target.port_name) == (f"kms:{name}", "kmip"), f"{vc} dials {address}"
        args = target.stateful_set["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--listen") + 1] == address   # where the KMS listens: its own pod's name


def test_a_kms_service_has_its_kmip_port_alone(rendered):
    assert [(p["name"], p["port"]) for p in rendered.named("Service", "kms-kms-shared")["spec"]["ports"]] == [("kmip", 5696)]


def test_a_kms_address_on_a_port_its_service_lacks_is_found(rendered):
    with pytest.raises(Unresolved, match="Service kms-kms-shared has no port 8443"):
        resolve(rendered.objects, "kms-kms-shared-0.kms-kms-shared.estate.svc.cluster.local:8443")


def test_a_vcenter_service_has_no_vmotion_port_and_a_host_service_has_both(rendered):
    assert [p["name"] for p in rendered.named("Service", "vcenter-vc-a")["spec"]["ports"]] == ["management"]
    assert [(p["name"], p["port"]) for p in rendered.named("Service", "host-esx-a1")["spec"]["ports"]] == [
        ("management", 8443), ("vmotion", 8000)]


def test_the_topology_in_the_config_map_keeps_everything_but_the_addresses(rendered, pods_topology):
    original = default_topology()
    assert [vc.name for _, vc in pods_topology.vcenters()] == [vc.name for _, vc in original.vcenters()]
    for (_, a), (_, b) in zip(original.vcenters(), pods_topology.vcenters(), strict=True):
        assert a.vms() == b.vms() and a.key_providers == b.key_providers and a.timeouts == b.timeouts
        assert [h.version for h in a.hosts()] == [h.version for h in b.hosts()]
        assert [h.vmotion.bandwidth for h in a.hosts()] == [h.vmotion.bandwidth for h in b.hosts()]


def test_a_missing_service_is_found(rendered):
    objects = [o for o in rendered.objects if not (o["kind"] == "Service" and o["metadata"]["name"] == "host-esx-b1")]
    with pytest.raises(Unresolved, match="no Service host-esx-b1 in namespace estate"):
        resolve(objects, "host-esx-b1-0.host-esx-b1.estate.svc.cluster.local:8000")


def test_a_service_without_the_port_is_found(rendered):
    objects = copy.deepcopy(rendered.objects)
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "host-esx-b1")
    service["spec"]["ports"] = service["spec"]["ports"][:1]
    with pytest.raises(Unresolved, match="Service host-esx-b1 has no port 8000"):
        resolve(objects, "host-esx-b1-0.host-esx-b1.estate.svc.cluster.local:8000")


def test_an_address_outside_the_cluster_is_found(rendered):
    with pytest.raises(Unresolved, match="not a pod name under a Service"):
        resolve(rendered.objects, "127.0.0.1:8443")


def test_names_that_are_not_dns_labels_become_distinct_labels(tmp_path):
    text = default_topology_text().replace("name: esx-a1", "name: ESX.A1").replace("host: esx-a1", "host: ESX.A1")
    text = text.replace("hosts: [esx-a1]", "hosts: [ESX.A1]")
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    topology = load_topology(path)
    rewritten = cluster_topology_text(text, str(path), ClusterNames("estate"))
    assert "host-esx-a1-" in rewritten and "host-esx.a1" not in rewritten
    (tmp_path / "cluster.yaml").write_text(rewritten)
    assert load_topology(tmp_path / "cluster.yaml").vcenters()[0][1].hosts()[0].name == "ESX.A1"
    assert topology.vcenters()[0][1].hosts()[0].name == "ESX.A1"

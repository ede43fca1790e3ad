"""The rendered manifests in the form `podman kube play` takes.

Podman plays Pods, Deployments, PersistentVolumeClaims, ConfigMaps and Secrets, but neither
StatefulSets nor Services, and it has no cluster DNS. So each StatefulSet becomes its one pod
(`<name>-0`, its claim a PersistentVolumeClaim of the StatefulSet's naming), and the cluster DNS is
stood in for by fixed pod IPs on a podman network and a `hostAliases` entry per part in every pod:
each part's address still resolves to its own pod's IP, inside its pod and from the others.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from linkedmode.deploy.parts import ClusterNames


def podman_objects(objects: list[dict[str, Any]], names: ClusterNames, subnet: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(objects to play, the IP of each pod in play order)."""
    network = ipaddress.ip_network(subnet)
    sets = [o for o in objects if o["kind"] == "StatefulSet"]
    ips = [str(network.network_address + 10 + i) for i in range(len(sets))]
    domain = f"{names.namespace}.svc.{names.cluster_domain}"
    aliases = [{"ip": ip, "hostnames": [f"{s['metadata']['name']}-0.{s['spec']['serviceName']}.{domain}"]}
               for ip, s in zip(ips, sets, strict=True)]
    played: list[dict[str, Any]] = [o for o in objects if o["kind"] in ("ConfigMap", "Secret", "PersistentVolumeClaim")]
    for sts in sets:
        pod_name = f"{sts['metadata']['name']}-0"
        spec = copy.deepcopy(sts["spec"]["template"]["spec"])
        spec["hostname"] = pod_name
        spec["hostAliases"] = aliases
        for claim in sts["spec"].get("volumeClaimTemplates", []):
            claim_name = f"{claim['metadata']['name']}-{pod_name}"
            played.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim_name},
                           "spec": claim["spec"]})
            spec["volumes"].append({"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
        played.append({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": pod_name, "labels": sts["spec"]["template"]["metadata"]["labels"]}, "spec": spec})
    return played, ips

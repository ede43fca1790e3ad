"""What the cluster's DNS and Services would make of an address, worked out from rendered objects alone.

`resolve` follows a part's address the way a pod's dial would go: `<pod>.<service>.<namespace>.svc.<domain>`
names a pod of the StatefulSet that the headless Service governs; the port must be one the Service
lists, whose target port the pod's container declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    stateful_set: dict[str, Any]
    service: dict[str, Any]
    port_name: str

    @property
    def serves(self) -> str:
        """The part its pod serves: `serve PART ...`, or kms:NAME for `python -m linkedmode.kms.server --name NAME ...`."""
        container = self.stateful_set["spec"]["template"]["spec"]["containers"][0]
        args: list[str] = container["args"]
        if container.get("command") == ["python", "-m", "linkedmode.kms.server"]:
            return f"kms:{args[args.index('--name') + 1]}"
        return args[1]


class Unresolved(Exception):
    pass


def resolve(objects: list[dict[str, Any]], address: str, cluster_domain: str = "cluster.local") -> Target:
    host, _, port_text = address.rpartition(":")
    labels = host.split(".")
    suffix = ["svc", *cluster_domain.split(".")]
    if len(labels) != 3 + len(suffix) or labels[3:] != suffix:
        raise Unresolved(f"{address}: not a pod name under a Service of the cluster ({'.'.join(suffix)})")
    pod, service_name, namespace = labels[:3]
    services = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service_name
                and o["metadata"]["namespace"] == namespace]
    if not services:
        raise Unresolved(f"{address}: no Service {service_name} in namespace {namespace}")
    service = services[0]
    if service["spec"].get("clusterIP") != "None":
        raise Unresolved(f"{address}: Service {service_name} is not headless, so it gives its pods no names")
    sets = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["namespace"] == namespace
            and o["spec"]["serviceName"] == service_name]
    matching = [s for s in sets if pod == f"{s['metadata']['name']}-0" and s["spec"]["replicas"] == 1]
    if not matching:
        raise Unresolved(f"{address}: no StatefulSet under Service {service_name} has a pod {pod}")
    stateful_set = matching[0]
    template_labels = stateful_set["spec"]["template"]["metadata"]["labels"]
    if any(template_labels.get(k) != v for k, v in service["spec"]["selector"].items()):
        raise Unresolved(f"{address}: Service {service_name} does not select the pods of StatefulSet {stateful_set['metadata']['name']}")
    port = int(port_text)
    listed = [p for p in service["spec"]["ports"] if p["port"] == port]
    if not listed:
        raise Unresolved(f"{address}: Service {service_name} has no port {port}")
    container = stateful_set["spec"]["template"]["spec"]["containers"][0]
    declared = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    target = listed[0]["targetPort"]
    if declared.get(target) != port and target != port:
        raise Unresolved(f"{address}: the pod declares no port {target} = {port}")
    return Target(stateful_set, service, listed[0]["name"])

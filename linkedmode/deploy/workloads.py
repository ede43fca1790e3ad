"""The StatefulSet that runs one part: its pod, its command, its volumes and its probes.

Every part is a StatefulSet of one replica, hosts included, for two reasons:
- its pod gets the stable DNS name its address is (see `parts`), and
- a StatefulSet never runs two pods of one identity at once: a Deployment's rolling update, or its
  replacement of a pod on an unreachable node, would briefly run two ESXi hosts of one name, each
  taking VMs, where the rule is that a VM runs once.
A vCenter's pod keeps its state directory (its SQLite inventory and journal) on a volume claim of its
own, so a vCenter that restarts has lost nothing. A host's is an emptyDir: a restarted ESXi is empty,
and its vCenter powers its VMs on again. The datastores are shared storage, as in vSphere: one claim,
mounted at STATE_DIR/datastores in every pod, since a vCenter makes its VMs' disk files there and
hosts (and, for a cold move, the destination vCenter) open them by path.

Probes are exec probes: `python -m linkedmode.deploy.probe PART` (what `linkedmode health` does,
started three times faster) asks the part's own listener `grpc.health.v1.Health/Check` over mutual
TLS with the part's credential. The kubelet's `grpc:` probe cannot: it speaks plaintext, and every
listener of a part requires a client certificate of the SSO domain, health included.
"""

from __future__ import annotations

from typing import Any

from .parts import MANAGEMENT_PORT, VMOTION_PORT, Part, label_value

STATE_DIR = "/var/lib/linkedmode"
PKI_DIR = f"{STATE_DIR}/pki"
CONFIG_DIR = "/etc/linkedmode"
TOPOLOGY_KEY = "topology.yaml"
TOPOLOGY_FILE = f"{CONFIG_DIR}/{TOPOLOGY_KEY}"
RUN_AS = 10001          # the image's `linkedmode` user
STATE_VOLUME = "state"
DATASTORES_VOLUME = "datastores"
DATASTORES_CLAIM = "linkedmode-datastores"   # made by objects.datastores_claim
DATASTORES_DIR = f"{STATE_DIR}/datastores"
SECRET_FILE_MODE = 0o440   # owner root, group the pod's fsGroup: the part's user reads its key through its group


def container_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def pod_security() -> dict[str, Any]:
    return {"runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}}


def labels(part: Part) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "linkedmode",
        "app.kubernetes.io/component": part.kind,
        "app.kubernetes.io/instance": part.resource,
        "linkedmode.io/sso-domain": label_value(part.domain),
    }


def selector(part: Part) -> dict[str, str]:
    return {"app.kubernetes.io/name": "linkedmode", "app.kubernetes.io/instance": part.resource}


def serve_args(part: Part, extra_args: tuple[str, ...] = ()) -> list[str]:
    """What the image's entrypoint (`linkedmode`) runs; `extra_args`: a vCenter's `--kms NAME=ADDRESS`."""
    return ["serve", part.label, "--topology", TOPOLOGY_FILE, "--state-dir", STATE_DIR, *extra_args]


def health_command(part: Part) -> list[str]:
    """`linkedmode health PART`, through the entry point that loads only what the check needs."""
    return ["python", "-m", "linkedmode.deploy.probe", part.label, "--topology", TOPOLOGY_FILE, "--state-dir", STATE_DIR]


def probes(part: Part) -> dict[str, Any]:
    """Startup gives a part two minutes to listen; then readiness every 10 s, liveness every 30 s."""
    command = {"exec": {"command": health_command(part)}}
    return {
        "startupProbe": {**command, "periodSeconds": 3, "timeoutSeconds": 10, "failureThreshold": 40},
        "readinessProbe": {**command, "periodSeconds": 10, "timeoutSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {**command, "periodSeconds": 30, "timeoutSeconds": 10, "failureThreshold": 3},
    }


def ports(part: Part) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"name": "management", "containerPort": MANAGEMENT_PORT, "protocol": "TCP"}]
    if part.kind == "host":
        found.append({"name": "vmotion", "containerPort": VMOTION_PORT, "protocol": "TCP"})
    return found


def secret_items(part: Part) -> list[dict[str, str]]:
    """The Secret's keys at the paths `Pki` reads under the state directory's `pki/`."""
    folder = f"{part.domain}/{part.kind}"
    return [
        {"key": "tls.crt", "path": f"{folder}/{part.name}.pem"},
        {"key": "tls.key", "path": f"{folder}/{part.name}.key"},
        {"key": "ca.crt", "path": f"{part.domain}/ca.pem"},
        *({"key": other_ca_key(domain), "path": f"{domain}/ca.pem"} for domain in part.trusts),
    ]


def other_ca_key(domain: str) -> str:
    """The Secret key of another SSO domain's CA certificate (a vCenter's KMS issued by that domain's CA)."""
    return f"ca.{domain}.crt"


def container(part: Part, image: str, extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "name": "linkedmode",
        "image": image,
        "imagePullPolicy": "IfNotPresent",    # also for a :latest image loaded into the nodes, as kind and podman do
        "args": serve_args(part, extra_args),
        "ports": ports(part),
        **probes(part),
        "volumeMounts": [
            {"name": STATE_VOLUME, "mountPath": STATE_DIR},
            {"name": "credential", "mountPath": PKI_DIR, "readOnly": True},
            {"name": DATASTORES_VOLUME, "mountPath": DATASTORES_DIR},
            {"name": "topology", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": container_security(),
    }


def volumes(part: Part, config_map: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": "credential", "secret": {"secretName": part.resource, "defaultMode": SECRET_FILE_MODE,
                                          "items": secret_items(part)}},
        {"name": "topology", "configMap": {"name": config_map}},
        {"name": DATASTORES_VOLUME, "persistentVolumeClaim": {"claimName": DATASTORES_CLAIM}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if part.kind == "host":
        found.append({"name": STATE_VOLUME, "emptyDir": {}})
    return found


def claim_spec(storage: str, access_mode: str, storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [access_mode], "resources": {"requests": {"storage": storage}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


def state_claim(storage: str, storage_class: str | None) -> dict[str, Any]:
    return {"metadata": {"name": STATE_VOLUME}, "spec": claim_spec(storage, "ReadWriteOnce", storage_class)}


def stateful_set(part: Part, *, namespace: str, image: str, config_map: str, storage: str, storage_class: str | None,
                 config_digest: str, extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """`config_digest` (of the topology and the part's credential) marks the pod template, so that applying
    a rendering that changed either restarts the pod on it: a running part reads neither again.
    `extra_args`: more options of `serve` (a vCenter's `--kms NAME=ADDRESS`)."""
    claims = [state_claim(storage, storage_class)] if part.kind == "vcenter" else []
    return one_pod_stateful_set(part, namespace, config_digest, container(part, image, extra_args), volumes(part, config_map), claims)


def one_pod_stateful_set(part: Part, namespace: str, config_digest: str, pod_container: dict[str, Any],
                         pod_volumes: list[dict[str, Any]], claims: list[dict[str, Any]]) -> dict[str, Any]:
    """A StatefulSet of one pod: its stable DNS name is the part's address, and it never runs two pods
    of one identity at once."""
    spec: dict[str, Any] = {
        "serviceName": part.resource,
        "replicas": 1,
        "podManagementPolicy": "Parallel",    # parts find each other by name: none waits for another to be ready
        "selector": {"matchLabels": selector(part)},
        "template": {
            "metadata": {"labels": labels(part), "annotations": {"linkedmode.io/config-digest": config_digest}},
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod_security(),
                "containers": [pod_container],
                "volumes": pod_volumes,
            },
        },
    }
    if claims:
        spec["volumeClaimTemplates"] = claims
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": part.resource, "namespace": namespace, "labels": labels(part)},
        "spec": spec,
    }

"""The objects around the pods: the namespace, each part's (KMS's too) Service and Secret, the topology's ConfigMap,
the datastores' claim."""

from __future__ import annotations

import base64
from typing import Any

from ..crypto.pki import Credential
from .parts import KMS_PORT, MANAGEMENT_PORT, VMOTION_PORT, Part
from .workloads import DATASTORES_CLAIM, TOPOLOGY_KEY, claim_spec, labels, other_ca_key, selector

TOPOLOGY_CONFIG_MAP = "linkedmode-topology"


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name,
                                                                  "labels": {"app.kubernetes.io/name": "linkedmode"}}}


def service(part: Part, namespace: str) -> dict[str, Any]:
    """A headless Service: it gives the part's pod its DNS name and points straight at it, management and
    vMotion alike (no proxy in the page stream); a KMS's has its KMIP port alone. Its name is published
    before the pod is ready, since parts dial each other while they start."""
    ports: list[dict[str, Any]] = [{"name": "management", "port": MANAGEMENT_PORT, "targetPort": "management",
                                    "protocol": "TCP", "appProtocol": "grpc"}]
    if part.kind == "kms":
        ports = [{"name": "kmip", "port": KMS_PORT, "targetPort": "kmip", "protocol": "TCP"}]
    if part.kind == "host":
        ports.append({"name": "vmotion", "port": VMOTION_PORT, "targetPort": "vmotion", "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": part.resource, "namespace": namespace, "labels": labels(part)},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": selector(part), "ports": ports},
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def credential_secret(part: Part, credential: Credential, namespace: str, *, ca_bundle: bytes | None = None,
                      other_cas: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The part's certificate and key, and its domain's CA certificate (never a CA's key). `ca_bundle`
    stands instead of that certificate where the part trusts several CAs (a KMS: those of its clients);
    `other_cas` are other domains' CA certificates the part needs beside it (a vCenter: its KMS's), by domain."""
    data = {"tls.crt": _b64(credential.cert_pem), "tls.key": _b64(credential.key_pem),
            "ca.crt": _b64(credential.ca_pem if ca_bundle is None else ca_bundle)}
    data |= {other_ca_key(domain): _b64(pem) for domain, pem in (other_cas or {}).items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": part.resource, "namespace": namespace, "labels": labels(part),
                     "annotations": {"linkedmode.io/identity": part.identity.uri}},
        "data": data,
    }


def topology_config_map(text: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": TOPOLOGY_CONFIG_MAP, "namespace": namespace, "labels": {"app.kubernetes.io/name": "linkedmode"}},
        "data": {TOPOLOGY_KEY: text},
    }


def datastores_claim(namespace: str, storage: str, access_mode: str, storage_class: str | None) -> dict[str, Any]:
    """The estate's datastores, which every pod mounts: ReadWriteMany where pods spread over nodes;
    ReadWriteOnce serves a cluster of one node (the mode binds a volume to a node, not to a pod)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": DATASTORES_CLAIM, "namespace": namespace, "labels": {"app.kubernetes.io/name": "linkedmode"}},
        "spec": claim_spec(storage, access_mode, storage_class),
    }

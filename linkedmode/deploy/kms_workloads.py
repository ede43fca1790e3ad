"""The StatefulSet that runs the KMS of a Standard Key Provider: PyKMIP's KMIP server, as `up` runs it.

Its pod runs `python -m linkedmode.kms.server`, listening on its own pod's DNS name at KMS_PORT (the
name resolves to the pod's IP inside it, as for every part). Its database (the keys) lives on a volume
claim of its own, like a vCenter's inventory: a KMS that restarts has every key it gave. Its Secret
(certificate, key, and the CA certificates of the SSO domains whose vCenters it serves) is mounted
read-only where the server reads it; the server writes only in the claim.

Probes are exec probes of `python -m linkedmode.deploy.kms_probe`: a mutual-TLS handshake with the
KMS's own credential, which checks the listener, the certificate and the trust a vCenter relies on
(kms_probe says why not a `tcpSocket` probe). PyKMIP takes seconds to import, so startup allows two
minutes, as for the other parts.
"""

from __future__ import annotations

from typing import Any

from ..kms.server import CERTIFICATE, KEY, TRUST
from .parts import KMS_PORT, ClusterNames, Part
from .workloads import SECRET_FILE_MODE, STATE_DIR, STATE_VOLUME, container_security, one_pod_stateful_set, state_claim

CREDENTIAL_DIR = f"{STATE_DIR}/pki"     # the Secret, read-only, beside the database on the claim
SERVER_FILES = {"tls.crt": CERTIFICATE, "tls.key": KEY, "ca.crt": TRUST}   # Secret key -> what the server reads


def kms_options(part: Part, kms: dict[str, Part], names: ClusterNames) -> tuple[str, ...]:
    """A vCenter's `serve` options naming where each of its KMS (`kms`: the topology's, by name) listens:
    `--kms NAME=ADDRESS`."""
    return tuple(option for name in part.kms for option in ("--kms", f"{name}={names.kms_address(kms[name])}"))


def kms_command(part: Part, names: ClusterNames) -> list[str]:
    return ["python", "-m", "linkedmode.kms.server", "--name", part.name, "--data-dir", STATE_DIR,
            "--credential-dir", CREDENTIAL_DIR, "--listen", names.kms_address(part)]


def kms_probe_command(part: Part, names: ClusterNames) -> list[str]:
    return ["python", "-m", "linkedmode.deploy.kms_probe", names.kms_address(part), "--credential-dir", CREDENTIAL_DIR]


def kms_probes(part: Part, names: ClusterNames) -> dict[str, Any]:
    command = {"exec": {"command": kms_probe_command(part, names)}}
    return {
        "startupProbe": {**command, "periodSeconds": 3, "timeoutSeconds": 10, "failureThreshold": 40},
        "readinessProbe": {**command, "periodSeconds": 10, "timeoutSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {**command, "periodSeconds": 30, "timeoutSeconds": 10, "failureThreshold": 3},
    }


def kms_stateful_set(part: Part, names: ClusterNames, *, image: str, storage: str, storage_class: str | None,
                     config_digest: str) -> dict[str, Any]:
    """`config_digest` (of the KMS's credential and trust) restarts its pod when a rendering changes them."""
    command = kms_command(part, names)
    container = {
        "name": "kms",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command[:3],             # not the image's entrypoint (`linkedmode`)
        "args": command[3:],
        "ports": [{"name": "kmip", "containerPort": KMS_PORT, "protocol": "TCP"}],
        **kms_probes(part, names),
        "volumeMounts": [
            {"name": STATE_VOLUME, "mountPath": STATE_DIR},
            {"name": "credential", "mountPath": CREDENTIAL_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},     # PyKMIP's process manager keeps its socket there
        ],
        "securityContext": container_security(),
    }
    volumes = [   # one server per database: PyKMIP's SQLite store is not shared, so one replica
        {"name": "credential", "secret": {"secretName": part.resource, "defaultMode": SECRET_FILE_MODE,
                                          "items": [{"key": k, "path": v} for k, v in SERVER_FILES.items()]}},
        {"name": "tmp", "emptyDir": {}},
    ]
    return one_pod_stateful_set(part, names.namespace, config_digest, container, volumes, [state_claim(storage, storage_class)])

"""An estate rendered for a cluster: every object, in the order `kubectl apply` wants them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..crypto.pki import Credential
from ..topology.spec import Topology
from .credentials import DeployAuthorities
from .kms_workloads import kms_options, kms_stateful_set
from .objects import TOPOLOGY_CONFIG_MAP, credential_secret, datastores_claim, namespace, service, topology_config_map
from .parts import ClusterNames, Part, kms_parts, parts
from .topology_config import cluster_topology_text
from .workloads import stateful_set

DEFAULT_IMAGE = "localhost/linkedmode:latest"
DEFAULT_STORAGE = "1Gi"
DEFAULT_DATASTORES_STORAGE = "10Gi"
ACCESS_MODES = ("ReadWriteMany", "ReadWriteOnce")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class DeployError(ValueError):
    """Options a rendering cannot use; its message says which and why."""


@dataclass(frozen=True)
class DeployOptions:
    names: ClusterNames = field(default_factory=ClusterNames)
    image: str = DEFAULT_IMAGE
    storage: str = DEFAULT_STORAGE                          # each vCenter's own claim (its inventory)
    datastores_storage: str = DEFAULT_DATASTORES_STORAGE    # the claim every pod shares (the datastores)
    datastores_access: str = "ReadWriteMany"
    storage_class: str | None = None                        # None: the cluster's default class

    def check(self) -> None:
        ns = self.names.namespace
        if len(ns) > 63 or not _NAMESPACE.fullmatch(ns):
            raise DeployError(f"namespace {ns!r} is not a DNS label (at most 63 lowercase letters, digits and '-', "
                              "starting and ending with a letter or digit)")
        if not self.image or any(c.isspace() for c in self.image):
            raise DeployError(f"image {self.image!r} is not an image reference")
        for what, size in (("storage", self.storage), ("datastores storage", self.datastores_storage)):
            if not _QUANTITY.fullmatch(size):
                raise DeployError(f"{what} {size!r} is not a Kubernetes quantity such as 1Gi or 500Mi")
        if self.datastores_access not in ACCESS_MODES:
            raise DeployError(f"datastores access mode {self.datastores_access!r} is not one of {', '.join(ACCESS_MODES)}")


def render_estate(topology: Topology, text: str, authorities: DeployAuthorities,
                  options: DeployOptions | None = None) -> list[dict[str, Any]]:
    """The Namespace, the topology ConfigMap, the datastores' claim, then per part its Secret, Service and
    StatefulSet, then the same per KMS of the topology's Standard Key Providers.

    `text` is the topology's YAML (already read into `topology`).
    """
    options = options or DeployOptions()
    options.check()
    ns = options.names.namespace
    cluster_text = cluster_topology_text(text, topology.source, options.names)
    objects = [namespace(ns), topology_config_map(cluster_text, ns),
               datastores_claim(ns, options.datastores_storage, options.datastores_access, options.storage_class)]
    kms = {part.name: part for part in kms_parts(topology)}
    for part in parts(topology):
        credential = authorities.part_credential(part, options.names)
        other_cas = {domain: authorities.ca_certificate(domain) for domain in part.trusts}
        digest = config_digest(cluster_text, credential, *other_cas.values())
        objects.append(credential_secret(part, credential, ns, other_cas=other_cas))
        objects.append(service(part, ns))
        objects.append(stateful_set(part, namespace=ns, image=options.image, config_map=TOPOLOGY_CONFIG_MAP,
                                    storage=options.storage, storage_class=options.storage_class, config_digest=digest,
                                    extra_args=kms_options(part, kms, options.names)))
    for server in kms.values():
        objects += _kms_objects(server, authorities, options)
    _check_unique(objects)
    return objects


def _kms_objects(kms: Part, authorities: DeployAuthorities, options: DeployOptions) -> list[dict[str, Any]]:
    """The KMS's Secret (its credential and the CAs of the domains whose vCenters it serves), Service and StatefulSet."""
    credential = authorities.part_credential(kms, options.names)
    trust = b"".join(authorities.ca_certificate(domain) for domain in (kms.domain, *kms.trusts))
    ns = options.names.namespace
    return [credential_secret(kms, credential, ns, ca_bundle=trust), service(kms, ns),
            kms_stateful_set(kms, options.names, image=options.image, storage=options.storage,
                             storage_class=options.storage_class, config_digest=config_digest("", credential, trust))]


def config_digest(cluster_text: str, credential: Credential, *trusted: bytes) -> str:
    """What a part reads once, at start: the topology and its credential (the certificates; its key changes
    with them), and the other CA certificates it trusts."""
    return hashlib.sha256(b"\0".join((cluster_text.encode(), credential.cert_pem, credential.ca_pem, *trusted))).hexdigest()


def _check_unique(objects: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in seen:
            raise DeployError(f"two parts would both be the {key[0]} {key[1]}: rename one of them")
        seen.add(key)

"""The parts of a topology as a cluster sees them: their resource names and DNS names.

Each part runs as the single pod of a StatefulSet governed by a headless Service of the same name, so
its pod has a stable DNS name, `<name>-0.<name>.<namespace>.svc.<cluster domain>`. That name is the
part's address in the topology the pods read: inside its own pod it resolves to the pod's IP (the
kubelet writes it in /etc/hosts), so the part listens on it; in every other pod the cluster DNS
resolves it to the same IP, so its peers dial it.

The KMS of each Standard Key Provider is a part too (kind `kms`): a pod of its own serving KMIP on
KMS_PORT at its pod's DNS name, which the vCenters that use it are given (`serve --kms NAME=ADDRESS`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..crypto.identity import Identity
from ..topology.spec import Topology

MANAGEMENT_PORT = 8443     # the mTLS gRPC listener of every part (unprivileged: the pods run as a plain user)
VMOTION_PORT = 8000        # a host's vMotion listener (vSphere's own vMotion port)
KMS_PORT = 5696            # KMIP's registered port (unprivileged)
MAX_NAME = 52              # a StatefulSet's pods carry a label `<name>-<10-character hash>` of at most 63 characters
_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class Part:
    """A vCenter, a host or a KMS of the topology; `vcenter` is the vCenter that manages a host (its own name
    for a vCenter, "" for a KMS). `kms`: the KMS a vCenter reaches (its Standard Key Providers). `trusts`:
    the SSO domains besides its own whose CA certificate the part needs: for a vCenter, those that issued
    its KMS's certificates; for a KMS, those of the vCenters whose clients it accepts."""

    kind: str
    name: str
    domain: str
    vcenter: str
    kms: tuple[str, ...] = ()
    trusts: tuple[str, ...] = ()

    @property
    def identity(self) -> Identity:
        return Identity(self.domain, self.kind, self.name)

    @property
    def label(self) -> str:
        """How `serve` and `health` name it: vcenter:NAME, host:NAME (or kms:NAME)."""
        return f"{self.kind}:{self.name}"

    @property
    def resource(self) -> str:
        """The name of its StatefulSet, Service and Secret: a DNS label, kind first so a host and a vCenter never collide."""
        return dns_label(f"{self.kind}-{self.name}")

    @property
    def pod(self) -> str:
        return f"{self.resource}-0"


def parts(topology: Topology) -> list[Part]:
    """Every vCenter and host of the topology, vCenters first."""
    homes = {kms.name: kms.domain for kms in topology.kms_servers()}
    found = []
    for domain, vc in topology.vcenters():
        kms = tuple(name for name in vc.key_providers if name in homes)
        trusts = tuple(dict.fromkeys(homes[name] for name in kms if homes[name] != domain.name))
        found.append(Part("vcenter", vc.name, domain.name, vc.name, kms, trusts))
    found += [Part("host", h.name, domain.name, vc.name) for domain, vc in topology.vcenters() for h in vc.hosts()]
    return found


def kms_parts(topology: Topology) -> list[Part]:
    """The KMS of every Standard Key Provider the topology's vCenters list."""
    return [Part("kms", kms.name, kms.domain, "", trusts=tuple(d for d in kms.client_domains if d != kms.domain))
            for kms in topology.kms_servers()]


def dns_label(name: str) -> str:
    """`name` as a DNS label Kubernetes takes for a Service (RFC 1035, at most MAX_NAME characters).

    A name that had to change gets a short digest of the original, so two names never fold into one.
    """
    if len(name) <= MAX_NAME and _LABEL.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    folded = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not folded or not folded[0].isalpha():
        folded = f"p-{folded}".rstrip("-")
    return f"{folded[:MAX_NAME - len(digest) - 1].rstrip('-')}-{digest}"


def label_value(value: str) -> str:
    """`value` as a label value (at most 63 characters of letters, digits, '-', '_' and '.')."""
    if len(value) <= 63 and re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value):
        return value
    return dns_label(value)


@dataclass(frozen=True)
class ClusterNames:
    """Where the parts live in the cluster: their namespace and the cluster's DNS domain."""

    namespace: str = "linkedmode"
    cluster_domain: str = "cluster.local"

    def service_dns(self, part: Part) -> str:
        return f"{part.resource}.{self.namespace}.svc.{self.cluster_domain}"

    def pod_dns(self, part: Part) -> str:
        """The part's address in the cluster: its pod's name under its headless Service."""
        return f"{part.pod}.{self.service_dns(part)}"

    def dns_names(self, part: Part) -> tuple[str, ...]:
        """What its certificate names besides its identity: the pod's and the Service's names, short and long."""
        return (self.pod_dns(part), self.service_dns(part), f"{part.resource}.{self.namespace}.svc",
                f"{part.resource}.{self.namespace}")

    def management_address(self, part: Part) -> str:
        return f"{self.pod_dns(part)}:{MANAGEMENT_PORT}"

    def vmotion_address(self, part: Part) -> str:
        return f"{self.pod_dns(part)}:{VMOTION_PORT}"

    def kms_address(self, part: Part) -> str:
        """Where a KMS listens and its vCenters reach it."""
        return f"{self.pod_dns(part)}:{KMS_PORT}"

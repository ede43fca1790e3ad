"""The topology the pods read: the user's topology with every part's address rewritten to its DNS name in the cluster.

Only `address` of each vCenter and host and `vmotion.address` of each host change; every other key is
kept as written (comments are not: the YAML is read and written again).
"""

from __future__ import annotations

from typing import Any

import yaml

from ..topology import parse_topology
from .parts import ClusterNames, Part


def cluster_topology_text(text: str, source: str, names: ClusterNames) -> str:
    """The topology YAML `text` (already validated) with the cluster's addresses, checked by the topology loader again."""
    data = yaml.safe_load(text)
    for domain in data["sso_domains"]:
        for vcenter in domain.get("vcenters") or ():
            vcenter["address"] = names.management_address(Part("vcenter", vcenter["name"], domain["name"], vcenter["name"]))
            for host in _hosts(vcenter):
                part = Part("host", host["name"], domain["name"], vcenter["name"])
                host["address"] = names.management_address(part)
                vmotion = host.get("vmotion") or {}
                host["vmotion"] = {**vmotion, "address": names.vmotion_address(part)}
    rewritten = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    parse_topology(yaml.safe_load(rewritten), f"{source} (as rendered for the cluster)")
    return f"# {source}, its addresses rewritten to the parts' DNS names in the cluster\n{rewritten}"


def _hosts(vcenter: dict[str, Any]) -> list[dict[str, Any]]:
    return [host for dc in vcenter.get("datacenters") or () for cluster in dc.get("clusters") or () for host in cluster.get("hosts") or ()]

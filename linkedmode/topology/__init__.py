"""Topologies: which SSO domains, vCenters, hosts and VMs an estate has, read from YAML and validated."""

from .fields import TopologyError
from .load import default_topology, default_topology_text, load_topology, parse_topology
from .spec import (
    ROLES,
    ClusterSpec,
    DatacenterSpec,
    DatastoreSpec,
    DiskSpec,
    GuestSpec,
    HostSpec,
    HostTimeouts,
    NetworkSpec,
    NicSpec,
    SsoDomainSpec,
    Topology,
    UserSpec,
    VCenterSpec,
    VCenterTimeouts,
    VMotionSpec,
    VmSpec,
)

__all__ = [
    "ROLES",
    "ClusterSpec",
    "DatacenterSpec",
    "DatastoreSpec",
    "DiskSpec",
    "GuestSpec",
    "HostSpec",
    "HostTimeouts",
    "NetworkSpec",
    "NicSpec",
    "SsoDomainSpec",
    "Topology",
    "TopologyError",
    "UserSpec",
    "VCenterSpec",
    "VCenterTimeouts",
    "VMotionSpec",
    "VmSpec",
    "default_topology",
    "default_topology_text",
    "load_topology",
    "parse_topology",
]

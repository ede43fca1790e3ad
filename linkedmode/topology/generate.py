"""Large topologies from a few numbers: a topology's `generate:` mapping, expanded into its sso_domains.

    generate: {vcenters: 2, hosts_per_vcenter: 32, vms: 5000, memory_mb: [1024, 8192]}

gives one SSO domain (`vsphere.local` unless `domain` names another) of linked vCenters `vc-01`,
`vc-02`, ... (version 7.0.3 unless `version` says), each with one datacenter, one cluster of hosts
`esx-01-01`, `esx-01-02`, ..., a shared datastore and a `VM Network`; the VMs `vm-00001`, ... are
dealt to the vCenters and their hosts in turn, each powered on, with one NIC and a memory size drawn
in 256 MB steps from `memory_mb` (one size or [smallest, largest]). The same mapping (with the same
`seed`) always gives the same estate. The result goes through the loader's checks like a written one.
"""

from __future__ import annotations

import random
from typing import Any

from ..model.settings import PowerState
from .fields import Node, describe

GENERATE_KEYS = ("vcenters", "hosts_per_vcenter", "vms", "memory_mb", "domain", "version", "power_state", "seed")
MEMORY_STEP_MB = 256
MAX_VCENTERS = 99
MAX_HOSTS_PER_VCENTER = 999
MAX_VMS = 1_000_000
_POWER_STATES = tuple(p.value for p in PowerState)
_HOST_MEMORY_MB = 1 << 20          # 1 TiB: generated hosts are sized for many VMs each


def generated_sso_domains(root: Node) -> list[dict[str, Any]]:
    """The `sso_domains` list that the root's `generate:` mapping stands for."""
    node = root.mapping("generate", GENERATE_KEYS)
    assert node is not None
    vcenters = _bounded(node, "vcenters", MAX_VCENTERS)
    hosts_per_vcenter = _bounded(node, "hosts_per_vcenter", MAX_HOSTS_PER_VCENTER)
    vms = _bounded(node, "vms", MAX_VMS, minimum=0)
    smallest, largest = _memory_range(node)
    seed = node.integer("seed", 0, minimum=0)
    power_state = node.choice("power_state", _POWER_STATES, PowerState.POWERED_ON.value)
    version = str(node.version("version")) if node.has("version") else "7.0.3"
    rng = random.Random(seed)
    steps = (largest - smallest) // MEMORY_STEP_MB
    memory = [smallest + MEMORY_STEP_MB * rng.randint(0, steps) if steps else smallest for _ in range(vms)]
    return [{
        "name": node.text("domain", "vsphere.local"),
        "vcenters": [_vcenter(v, vcenters, hosts_per_vcenter, version, power_state, memory) for v in range(vcenters)],
    }]


def _bounded(node: Node, key: str, maximum: int, *, minimum: int = 1) -> int:
    value = node.integer(key, minimum=minimum)
    if value > maximum:
        raise node.fail(key, f"at most {maximum}, got {value}")
    return value


def _memory_range(node: Node) -> tuple[int, int]:
    """`memory_mb`: one size, or [smallest, largest]; each a positive multiple of 256."""
    value = node.data.get("memory_mb", [MEMORY_STEP_MB, MEMORY_STEP_MB])
    sizes = value if isinstance(value, list) else [value, value]
    if len(sizes) != 2:
        raise node.fail("memory_mb", f"expected a size in MB or [smallest, largest], got a list of {len(sizes)}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < MEMORY_STEP_MB or size % MEMORY_STEP_MB:
            raise node.fail("memory_mb", f"expected sizes that are multiples of {MEMORY_STEP_MB} MB, got {describe(size)}")
    if sizes[0] > sizes[1]:
        raise node.fail("memory_mb", f"the smallest size {sizes[0]} is larger than the largest {sizes[1]}")
    if sizes[1] > _HOST_MEMORY_MB:
        raise node.fail("memory_mb", f"{sizes[1]} MB is more than a generated host has ({_HOST_MEMORY_MB} MB)")
    return sizes[0], sizes[1]


def _vcenter(index: int, vcenters: int, hosts: int, version: str, power_state: str, memory: list[int]) -> dict[str, Any]:
    tag = f"{index + 1:02d}"
    host_names = [f"esx-{tag}-{h + 1:02d}" for h in range(hosts)]
    vms = [{"name": f"vm-{n + 1:05d}", "host": host_names[(n // vcenters) % hosts], "memory_mb": memory[n],
            "power_state": power_state, "nics": [{"network": "VM Network"}]}
           for n in range(index, len(memory), vcenters)]
    return {
        "name": f"vc-{tag}",
        "version": version,
        "datacenters": [{
            "name": f"dc-{tag}",
            "clusters": [{"name": f"cluster-{tag}",
                          "hosts": [{"name": name, "version": version, "memory_mb": _HOST_MEMORY_MB} for name in host_names]}],
            "datastores": [{"name": f"ds-{tag}-shared", "type": "shared"}],
            "networks": [{"name": "VM Network"}],
            "vms": vms,
        }],
    }


def expand(data: object, source: str) -> object:
    """The document with its `generate:` mapping replaced by the sso_domains it stands for."""
    if not isinstance(data, dict) or data.get("generate") is None:
        return data
    root = Node(data, "", source, ("generate", "sso_domains"))
    if root.has("sso_domains"):
        raise root.fail("generate", "give either sso_domains or generate, not both")
    return {"sso_domains": generated_sso_domains(root)}

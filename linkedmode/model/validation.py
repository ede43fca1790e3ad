"""Checks of single values that come from outside (a request, a peer): each refusal is an
InvalidArgument that names the field and says what is wrong with it.

The size limits every request keeps whatever its method (text length, list length, enum members,
finite numbers) are checked once at the wire (linkedmode.rpc.validation); these are the checks only
an operation knows it needs.
"""

from __future__ import annotations

import math

from .faults import InvalidArgument

SHOWN = 60                         # characters of a refused value quoted back in a fault
MAX_VM_MEMORY_MB = 24 << 20        # vSphere 7's limits per VM: 24 TB, 768 vCPUs
MAX_VCPUS = 768
MAX_DIRTY_RATE_MBPS = 100_000.0    # far above any vMotion link; the guest's writer thread goes no faster


def shown(value: object) -> str:
    """A value quoted in a fault message, cut short: a fault must not echo 100 KB back."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(str(value))} characters)"


def required(field: str, value: str) -> str:
    if not value:
        raise InvalidArgument(f"{field} is required", argument=field)
    return value


def whole_number(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidArgument(f"{field} {value} is not between {low} and {high}", argument=field)
    return value


def number(field: str, value: float, low: float, high: float) -> float:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidArgument(f"{field} {value} is not between {low:g} and {high:g}", argument=field)
    return value


def vm_resources(prefix: str, memory_mb: int, num_cpu: int, dirty_rate_mbps: float, working_set_mb: int) -> None:
    """What a VM asks of a host: memory, vCPUs and how fast its guest writes (prefix: where in the request)."""
    whole_number(f"{prefix}memory_mb", memory_mb, 1, MAX_VM_MEMORY_MB)
    whole_number(f"{prefix}num_cpu", num_cpu, 1, MAX_VCPUS)
    number(f"{prefix}dirty_rate_mbps", dirty_rate_mbps, 0, MAX_DIRTY_RATE_MBPS)
    whole_number(f"{prefix}working_set_mb", working_set_mb, 0, memory_mb)


def host_port(field: str, value: str) -> tuple[str, int]:
    """"host:port" (or "[v6]:port") with a port of 1..65535."""
    host, _, port = value.rpartition(":")
    if not host.strip("[]") or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"{field} {shown(value)} is not host:port with a port of 1..65535", argument=field)
    return host.strip("[]"), int(port)

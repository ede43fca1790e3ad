"""Maintenance mode: a host entering it, or in it, takes no VM (new, powered on, or moved in)."""

from __future__ import annotations

from .faults import InvalidHostState
from .inventory import MAINTENANCE_ENTERING, Host


def check_takes_vms(host: Host, what: str) -> None:
    """Raises vSphere's InvalidHostState when `host` is in (or entering) maintenance mode; `what` says
    what was refused ("cannot power on web-1 there")."""
    if not host.maintenance:
        return
    state = "entering maintenance mode" if host.maintenance == MAINTENANCE_ENTERING else "in maintenance mode"
    raise InvalidHostState(f"host {host.name} is {state}: {what}", object=host.moid, state=host.maintenance)

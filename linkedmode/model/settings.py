"""VM settings and their rules: migrate_encryption (rows E1, E5, E6), power states, and the advanced
settings the emulator reads (row V4)."""

from __future__ import annotations

import math
from enum import StrEnum

from .faults import InvalidArgument


class MigrateEncryption(StrEnum):
    """VirtualMachineConfigSpecEncryptedVMotionModes."""

    DISABLED = "disabled"
    OPPORTUNISTIC = "opportunistic"
    REQUIRED = "required"

    @classmethod
    def parse(cls, value: str) -> MigrateEncryption:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InvalidArgument(f"migrate_encryption {value!r} is not one of {allowed}", argument="migrate_encryption") from None


DEFAULT_MIGRATE_ENCRYPTION = MigrateEncryption.OPPORTUNISTIC   # row E1


class PowerState(StrEnum):
    """VirtualMachinePowerState."""

    POWERED_OFF = "poweredOff"
    POWERED_ON = "poweredOn"
    SUSPENDED = "suspended"

    @classmethod
    def parse(cls, value: str) -> PowerState:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InvalidArgument(f"power state {value!r} is not one of {allowed}", argument="power_state") from None


MAX_SWITCHOVER_SETTING = "vmotion.maxSwitchoverSeconds"   # row V4, per VM
EXTRA_CONFIG_KEY_LIMIT = 256
EXTRA_CONFIG_VALUE_LIMIT = 4096


def checked_extra_config(changes: dict[str, str]) -> dict[str, str]:
    """Advanced settings as a reconfigure gives them: keys and values of sensible length, the ones this
    emulator reads well-formed. An empty value removes a setting."""
    for key, value in changes.items():
        if not key or len(key) > EXTRA_CONFIG_KEY_LIMIT:
            raise InvalidArgument(f"extra_config key {key[:64]!r} must have 1 to {EXTRA_CONFIG_KEY_LIMIT} characters",
                                  argument="spec.extra_config")
        if len(value) > EXTRA_CONFIG_VALUE_LIMIT:
            raise InvalidArgument(f"extra_config {key} is {len(value)} characters long; at most {EXTRA_CONFIG_VALUE_LIMIT}",
                                  argument=f"spec.extra_config.{key}")
        if key == MAX_SWITCHOVER_SETTING and value:
            max_switchover_seconds({key: value}, 0.0)
    return changes


def max_switchover_seconds(extra_config: dict[str, str], default: float) -> float:
    """The VM's own switchover limit (row V4), else `default` (its vCenter's)."""
    text = extra_config.get(MAX_SWITCHOVER_SETTING, "")
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 3600):
        raise InvalidArgument(f"{MAX_SWITCHOVER_SETTING} {text[:32]!r} is not a number of seconds between 0 and 3600",
                              argument=f"spec.extra_config.{MAX_SWITCHOVER_SETTING}")
    return seconds

"""VM settings and their rules: migrate_encryption (rows E1, E5, E6) and power states."""

from __future__ import annotations

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

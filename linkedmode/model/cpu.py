"""CPU compatibility for vMotion (row V10): EVC baselines, the CPU feature sets vSphere names.

A host's CPU supports every baseline of its vendor up to the newest it offers; a cluster with an EVC
mode lets its hosts offer only that baseline. A running VM uses the features it started with, and can
move only to a host that offers them all: the same vendor, at that baseline or a later one.
"""

from __future__ import annotations

from dataclasses import dataclass

# EVC mode keys (EVCMode.key), oldest first within each vendor.
EVC_MODES: dict[str, tuple[str, ...]] = {
    "intel": (
        "intel-merom", "intel-penryn", "intel-nehalem", "intel-westmere", "intel-sandybridge", "intel-ivybridge",
        "intel-haswell", "intel-broadwell", "intel-skylake", "intel-cascadelake", "intel-icelake", "intel-sapphirerapids",
    ),
    "amd": (
        "amd-rev-e", "amd-rev-f", "amd-greyhound-no3dnow", "amd-greyhound", "amd-bulldozer", "amd-piledriver",
        "amd-steamroller", "amd-zen", "amd-zen2", "amd-zen3", "amd-zen4",
    ),
}
DEFAULT_CPU = "intel-skylake"     # what a host offers when the topology does not say
VENDOR_NAMES = {"intel": "Intel", "amd": "AMD"}


@dataclass(frozen=True)
class EvcBaseline:
    """One EVC mode: its vendor and its generation among that vendor's baselines."""

    key: str
    vendor: str
    level: int

    @classmethod
    def named(cls, key: str) -> EvcBaseline:
        for vendor, keys in EVC_MODES.items():
            if key in keys:
                return cls(key, vendor, keys.index(key))
        raise ValueError(f"{key!r} is not an EVC mode (intel-merom .. intel-sapphirerapids, amd-rev-e .. amd-zen4)")

    def covers(self, required: EvcBaseline) -> bool:
        """A host offering this baseline has every feature of `required`."""
        return self.vendor == required.vendor and self.level >= required.level

    def why_not(self, required: EvcBaseline) -> str:
        """In words, why this baseline does not cover `required` (only when it does not)."""
        if self.vendor != required.vendor:
            return f"an {VENDOR_NAMES[self.vendor]} CPU cannot run a VM started on an {VENDOR_NAMES[required.vendor]} CPU"
        return f"{self.key} is older than {required.key}"


def evc_mode_keys() -> tuple[str, ...]:
    return tuple(key for keys in EVC_MODES.values() for key in keys)

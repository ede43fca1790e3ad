"""Product versions and what they allow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(str(text).strip())
        if not match:
            raise ValueError(f"{text!r} is not a version like 7.0 or 7.0.3")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def __lt__(self, other: Version) -> bool:
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


ENCRYPTED_VMOTION_MIN_ESXI = Version(6, 5)      # row E4
CROSS_VCENTER_MIN_VCENTER = Version(6, 0)       # row X2: cross-vCenter vMotion at all
ENCRYPTED_CROSS_VCENTER_MIN_VCENTER = Version(7, 0)   # row X2: encrypted vMotion between vCenters


def encrypted_vmotion_supported(esxi: Version, aes_ni: bool) -> bool:
    """HostCapability.encryptedVMotionSupported: ESXi 6.5 or later on a CPU with AES-NI (rows E4, E12)."""
    return esxi >= ENCRYPTED_VMOTION_MIN_ESXI and aes_ni


def max_concurrent_vmotions(bandwidth: str) -> int:
    """Concurrent vMotions per host: 4 on 1 GbE, 8 on 10 GbE and faster (row V8)."""
    return 4 if bandwidth == "1GbE" else 8


BANDWIDTHS = ("1GbE", "10GbE", "25GbE", "40GbE", "100GbE")


def build_number(product: str, version: Version) -> str:
    """A stable, plausible build number for the about pages."""
    return str(10_000_000 + version.major * 1_000_000 + version.minor * 10_000 + version.patch * 100 + (7 if product == "vpx" else 3))


# Row X8: the oldest ESXi each vCenter release manages (VMware's interoperability matrix). A vCenter
# manages hosts from that floor up to its own release; a release between two rows takes the lower row.
_OLDEST_MANAGED_ESXI = {
    Version(6, 0): Version(5, 0),
    Version(6, 5): Version(5, 5),
    Version(6, 7): Version(6, 0),
    Version(7, 0): Version(6, 5),
    Version(8, 0): Version(7, 0),
}
NATIVE_KEY_PROVIDER_MIN_VCENTER = Version(7, 0, 2)    # row K3: the Native Key Provider came with 7.0 U2


@dataclass(frozen=True)
class ManagedEsxi:
    """The ESXi releases one vCenter manages (row X8): `oldest` up to `newest`, compared by major.minor."""

    oldest: Version
    newest: Version

    def __contains__(self, esxi: Version) -> bool:
        return self.oldest <= Version(esxi.major, esxi.minor) <= self.newest

    def __str__(self) -> str:
        newest = f"{self.newest.major}.{self.newest.minor}"
        return f"ESXi {self.oldest.major}.{self.oldest.minor} to {newest}"


def managed_esxi(vcenter: Version) -> ManagedEsxi:
    """Which ESXi releases a vCenter of this version manages (row X8)."""
    release = Version(vcenter.major, vcenter.minor)
    known = [v for v in _OLDEST_MANAGED_ESXI if v <= release]
    oldest = _OLDEST_MANAGED_ESXI[max(known)] if known else release
    return ManagedEsxi(oldest, release)

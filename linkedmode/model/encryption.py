"""The encryption decision of a migration, taken once, before anything is sent (rows E2-E4, E6, X2, D1-D3).

One pure function over plain values, so that the whole table is tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import MigrationFeatureNotSupported
from .settings import MigrateEncryption


@dataclass(frozen=True)
class HostEncryptionSupport:
    """What the decision needs to know of a host."""

    name: str
    encrypted_vmotion_supported: bool   # ESXi >= 6.5 with AES-NI (row E4)
    version: str = ""
    aes_ni: bool = True

    def why_not(self) -> str:
        if self.encrypted_vmotion_supported:
            return ""
        if not self.aes_ni:
            return f"host {self.name} has no AES-NI"
        return f"host {self.name} runs ESXi {self.version}, before 6.5"


@dataclass(frozen=True)
class VCenterTooOld:
    """Across vCenters: one of them runs a version before encrypted cross-vCenter vMotion (row X2)."""

    name: str
    version: str
    floor: str = "7.0"

    def why_not(self) -> str:
        return f"vCenter {self.name} runs {self.version}, before {self.floor}"


@dataclass(frozen=True)
class EncryptionDecision:
    asked: MigrateEncryption   # the VM's setting (encrypted VMs read `required`)
    encrypted: bool            # whether what crosses the network is protected
    fell_back: bool            # opportunistic, but a host could not: plaintext
    reason: str                # in words, for the task result

    @property
    def used(self) -> str:
        return "encrypted" if self.encrypted else "plaintext"


def decide_encryption(
    mode: MigrateEncryption,
    *,
    vm_encrypted: bool,
    source: HostEncryptionSupport,
    destination: HostEncryptionSupport,
    powered_on: bool,
    vcenter_too_old: VCenterTooOld | None = None,
) -> EncryptionDecision:
    """How a VM moves from source to destination host, or MigrationFeatureNotSupported.

    A powered-on VM moves hot over the vMotion network, encrypted per the table of the design; one
    that only changes datastore on its host sends nothing over the network, and its disks are copied
    on the host, not encrypted (row D1). A powered-off VM moves cold: no page stream; its disks cross
    as a plain copy (row D2), never encrypted in transit: a `required` VM with clear disks goes ahead
    all the same (row D3 is advice), and an encrypted VM's disks cross as they are at rest.
    `vcenter_too_old`: across vCenters, one of them is before 7.0, so nothing can move encrypted (row X2).
    """
    asked = MigrateEncryption.REQUIRED if vm_encrypted else mode
    cannot: list[str] = [h.why_not() for h in (source, destination) if not h.encrypted_vmotion_supported]
    if vcenter_too_old is not None:
        cannot.append(vcenter_too_old.why_not())
    same_host = source.name == destination.name

    if not powered_on:
        if vm_encrypted and vcenter_too_old is not None:
            raise MigrationFeatureNotSupported(f"the VM is encrypted but {vcenter_too_old.why_not()}: encrypted VMs move "
                                               "between vCenters of 7.0 or later", object=vcenter_too_old.name)
        if vm_encrypted:
            return EncryptionDecision(asked, False, False, "cold move: the encrypted VM is encrypted at rest; its disks "
                                      "cross as that ciphertext (NFC: not encrypted in transit)")
        return EncryptionDecision(asked, False, False, "cold move: disks copied in the clear (NFC: not encrypted in transit"
                                  + ("; migrate_encryption applies to vMotion only" if asked == MigrateEncryption.REQUIRED else "")
                                  + ")")

    if same_host:
        return EncryptionDecision(asked, vm_encrypted, False, "datastore-only move on one host: nothing crosses the "
                                  "vMotion network" + (", the encrypted VM's disks stay ciphertext" if vm_encrypted else ""))
    if asked == MigrateEncryption.DISABLED:
        return EncryptionDecision(asked, False, False, "migrate_encryption is disabled")
    if not cannot:
        return EncryptionDecision(asked, True, False, "both hosts support encrypted vMotion")
    why = "; ".join(cannot)
    if asked == MigrateEncryption.OPPORTUNISTIC:
        return EncryptionDecision(asked, False, True, f"fell back to plaintext: {why}")
    subject = "the VM is encrypted" if vm_encrypted else "migrate_encryption is required"
    first = next((h for h in (source, destination) if not h.encrypted_vmotion_supported), None)
    if first is not None:
        raise MigrationFeatureNotSupported(f"{subject} but {why}: encrypted vMotion is not supported",
                                           object=first.name, host=first.name)
    assert vcenter_too_old is not None
    raise MigrationFeatureNotSupported(f"{subject} but {why}: encrypted vMotion between vCenters is not supported",
                                       object=vcenter_too_old.name, vcenter=vcenter_too_old.name)

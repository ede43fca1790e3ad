"""The encryption decision, row by row of the design's table (rows E2-E4, E6, X2, D1-D3)."""

from __future__ import annotations

import pytest

from linkedmode.model.encryption import HostEncryptionSupport, VCenterTooOld, decide_encryption
from linkedmode.model.faults import MigrationFeatureNotSupported
from linkedmode.model.settings import MigrateEncryption as M

ESX70 = HostEncryptionSupport("esx-70", True, "7.0.3")
ESX67 = HostEncryptionSupport("esx-67", True, "6.7.0")
ESX60 = HostEncryptionSupport("esx-60", False, "6.0.0")
NO_AESNI = HostEncryptionSupport("esx-noaes", False, "7.0.3", aes_ni=False)

# mode, vm encrypted, source, destination, powered on -> encrypted, fell back   (None: refused)
HOT = [
    (M.DISABLED, False, ESX70, ESX67, True, (False, False)),
    (M.DISABLED, False, ESX70, ESX60, True, (False, False)),
    (M.OPPORTUNISTIC, False, ESX70, ESX67, True, (True, False)),
    (M.OPPORTUNISTIC, False, ESX70, ESX60, True, (False, True)),
    (M.OPPORTUNISTIC, False, ESX60, ESX70, True, (False, True)),
    (M.OPPORTUNISTIC, False, ESX70, NO_AESNI, True, (False, True)),
    (M.REQUIRED, False, ESX70, ESX67, True, (True, False)),
    (M.REQUIRED, False, ESX70, ESX60, True, None),
    (M.REQUIRED, False, NO_AESNI, ESX70, True, None),
    (M.OPPORTUNISTIC, True, ESX70, ESX67, True, (True, False)),   # encrypted VM: always encrypted
    (M.OPPORTUNISTIC, True, ESX70, ESX60, True, None),            # ... or refused
    (M.DISABLED, True, ESX70, ESX67, True, (True, False)),
    (M.REQUIRED, False, ESX60, ESX60, True, (False, False)),      # datastore-only move on one host: nothing crosses (D1)
    (M.OPPORTUNISTIC, True, ESX70, ESX70, True, (True, False)),   # ... an encrypted VM's disks stay ciphertext
]
COLD = [   # NFC is never encrypted in transit (row D2)
    (M.DISABLED, False, ESX70, ESX60, False, (False, False)),
    (M.OPPORTUNISTIC, False, ESX70, ESX67, False, (False, False)),
    (M.REQUIRED, False, ESX70, ESX67, False, (False, False)),     # row D3 is advice: it goes ahead, in the clear
    (M.REQUIRED, False, ESX70, ESX70, False, (False, False)),      # same host: nothing crosses
    (M.REQUIRED, True, ESX70, ESX60, False, (False, False)),       # encrypted disks cross as they are at rest
]
OLD = VCenterTooOld("vc-old", "6.7.0")
# across vCenters, one of them before 7.0 (row X2): the floor is for encryption only
BETWEEN_OLD_VCENTERS = [
    (M.DISABLED, False, ESX67, ESX67, True, (False, False)),
    (M.OPPORTUNISTIC, False, ESX70, ESX67, True, (False, True)),
    (M.REQUIRED, False, ESX70, ESX67, True, None),
    (M.OPPORTUNISTIC, True, ESX70, ESX67, True, None),             # an encrypted VM
    (M.OPPORTUNISTIC, True, ESX70, ESX67, False, None),            # ... hot or cold
    (M.REQUIRED, False, ESX70, ESX67, False, (False, False)),      # a cold move was never encrypted in transit
]


@pytest.mark.parametrize("mode,vm_encrypted,source,destination,powered_on,expected", HOT + COLD)
def test_the_decision_table(mode, vm_encrypted, source, destination, powered_on, expected):
    decide = lambda: decide_encryption(mode, vm_encrypted=vm_encrypted, source=source,  # noqa: E731
                                       destination=destination, powered_on=powered_on)
    if expected is None:
        with pytest.raises(MigrationFeatureNotSupported):
            decide()
        return
    decision = decide()
    assert (decision.encrypted, decision.fell_back) == expected
    assert decision.asked == (M.REQUIRED if vm_encrypted else mode)


@pytest.mark.parametrize("mode,vm_encrypted,source,destination,powered_on,expected", BETWEEN_OLD_VCENTERS)
def test_the_floor_between_vcenters_is_for_encryption(mode, vm_encrypted, source, destination, powered_on, expected):
    decide = lambda: decide_encryption(mode, vm_encrypted=vm_encrypted, source=source,  # noqa: E731
                                       destination=destination, powered_on=powered_on, vcenter_too_old=OLD)
    if expected is None:
        with pytest.raises(MigrationFeatureNotSupported, match=r"vCenter vc-old runs 6\.7\.0, before 7\.0"):
            decide()
        return
    decision = decide()
    assert (decision.encrypted, decision.fell_back) == expected
    if decision.fell_back:
        assert decision.reason == "fell back to plaintext: vCenter vc-old runs 6.7.0, before 7.0"


def test_a_cold_move_of_a_required_vm_says_it_was_not_encrypted_in_transit():
    decision = decide_encryption(M.REQUIRED, vm_encrypted=False, source=ESX70, destination=ESX67, powered_on=False)
    assert not decision.encrypted and decision.used == "plaintext"
    assert "not encrypted in transit" in decision.reason and "applies to vMotion only" in decision.reason


def test_a_refusal_names_the_host_that_cannot():
    with pytest.raises(MigrationFeatureNotSupported) as refused:
        decide_encryption(M.REQUIRED, vm_encrypted=False, source=ESX70, destination=ESX60, powered_on=True)
    assert refused.value.object == "esx-60"
    assert str(refused.value) == ("MigrationFeatureNotSupported: migrate_encryption is required but host esx-60 runs "
                                  "ESXi 6.0.0, before 6.5: encrypted vMotion is not supported")
    with pytest.raises(MigrationFeatureNotSupported, match="host esx-noaes has no AES-NI"):
        decide_encryption(M.REQUIRED, vm_encrypted=False, source=NO_AESNI, destination=ESX70, powered_on=True)


def test_a_fallback_says_why():
    decision = decide_encryption(M.OPPORTUNISTIC, vm_encrypted=False, source=ESX70, destination=ESX60, powered_on=True)
    assert decision.reason == "fell back to plaintext: host esx-60 runs ESXi 6.0.0, before 6.5" and decision.used == "plaintext"

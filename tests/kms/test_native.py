"""The Native Key Provider (row K1: the key provider built into vCenter): sealed at rest apart from its
sealing key, backed up under a password and restored into another vCenter, which then gets the same keys by id."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkedmode.kms.native import NativeKeyProvider
from linkedmode.kms.providers import KeyProviders
from linkedmode.model.faults import AlreadyExists, CryptoKeyUnavailable, InvalidArgument, NotFound

PASSWORD = "correct horse battery"


def all_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_provider_is_sealed_apart_from_its_sealing_key(tmp_path: Path) -> None:
    providers = KeyProviders("vc-a", tmp_path, native=("nkp-vc-a",))
    key_id, _ = providers.new_data_key("nkp-vc-a", bytes(32))
    key = providers.key("nkp-vc-a", key_id)
    files = all_bytes(tmp_path)
    assert set(files) == {"nkp-vc-a.nkp", "nkp-vc-a.seal"}
    assert all(bytes(key) not in data for data in files.values())
    assert (tmp_path / "nkp-vc-a.nkp").stat().st_mode & 0o777 == 0o600
    again = KeyProviders("vc-a", tmp_path, native=("nkp-vc-a",))          # a restart: the same provider, the same key
    assert again.key("nkp-vc-a", key_id) == key


def test_store_that_lost_its_sealing_key_does_not_open(tmp_path: Path) -> None:
    KeyProviders("vc-a", tmp_path, native=("nkp-vc-a",))
    (tmp_path / "nkp-vc-a.seal").write_bytes(bytes(32))
    with pytest.raises(CryptoKeyUnavailable, match="does not open under its sealing key"):
        KeyProviders("vc-a", tmp_path, native=("nkp-vc-a",))


def test_backup_restored_into_another_vcenter_gives_the_same_keys(tmp_path: Path) -> None:
    vc_a = KeyProviders("vc-a", tmp_path / "a", native=("nkp-vc-a",))
    vc_b = KeyProviders("vc-b", tmp_path / "b", native=("nkp-vc-b",))
    data_key = bytes(range(32))
    key_id, key_safe = vc_a.new_data_key("nkp-vc-a", data_key)
    with pytest.raises(CryptoKeyUnavailable, match="vc-b has no key provider 'nkp-vc-a'"):
        vc_b.open_key_safe("nkp-vc-a", key_id, key_safe)
    backup = vc_a.backup("nkp-vc-a", PASSWORD)
    assert PASSWORD.encode() not in backup and bytes(vc_a.key("nkp-vc-a", key_id)) not in backup
    assert vc_b.restore(backup, PASSWORD) == "nkp-vc-a"
    assert vc_b.open_key_safe("nkp-vc-a", key_id, key_safe) == data_key
    assert KeyProviders("vc-b", tmp_path / "b", native=("nkp-vc-b",)).names() == ["nkp-vc-b", "nkp-vc-a"]  # kept across a restart
    with pytest.raises(AlreadyExists, match="vc-b already has a key provider nkp-vc-a"):
        vc_b.restore(backup, PASSWORD)


def test_backup_with_wrong_password_or_altered_opens_nothing(tmp_path: Path) -> None:
    backup = NativeKeyProvider.create("nkp-vc-a", tmp_path).backup(PASSWORD)
    with pytest.raises(InvalidArgument, match="does not open with this password") as wrong:
        NativeKeyProvider.restore(backup, "not the password")
    assert "not the password" not in str(wrong.value)
    altered = backup.replace(b'"nkp-vc-a"', b'"nkp-vc-x"')
    with pytest.raises(InvalidArgument, match="does not open with this password"):
        NativeKeyProvider.restore(altered, PASSWORD)
    with pytest.raises(InvalidArgument, match="not a Native Key Provider backup"):
        NativeKeyProvider.restore(b"{}", PASSWORD)
    with pytest.raises(InvalidArgument, match="at least 8 characters"):
        NativeKeyProvider.create("nkp-x", tmp_path).backup("short")


def test_default_provider_and_unknown_names(tmp_path: Path) -> None:
    providers = KeyProviders("vc-a", tmp_path, native=("nkp-vc-a", "nkp-two"))
    assert providers.default == "nkp-vc-a"
    providers.set_default("nkp-two")
    assert KeyProviders("vc-a", tmp_path, native=("nkp-vc-a", "nkp-two")).default == "nkp-two"
    with pytest.raises(NotFound, match="vc-a has no key provider 'nope'"):
        providers.set_default("nope")
    with pytest.raises(NotFound, match="has no key provider 'nope'"):
        providers.backup("nope", PASSWORD)


def test_key_safe_under_another_key_does_not_open(tmp_path: Path) -> None:
    providers = KeyProviders("vc-a", tmp_path, native=("nkp-vc-a",))
    key_id, key_safe = providers.new_data_key("nkp-vc-a", bytes(32))
    other_id, _ = providers.new_data_key("nkp-vc-a", bytes(32))
    with pytest.raises(CryptoKeyUnavailable, match="does not unwrap"):
        providers.open_key_safe("nkp-vc-a", other_id, key_safe)
    assert key_id != other_id

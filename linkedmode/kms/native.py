"""The Native Key Provider (row K3, vCenter 7.0 U2+): key material the vCenter keeps itself.

A provider is one 256-bit primary key; the key of an id is derived from it with HKDF-SHA256 (the id as
the info), so keys need no storage of their own and any vCenter holding the provider gets the same key
for the same id. On disk, in the vCenter's key-provider folder (owner-only):

    <provider>.nkp        nonce || AES-256-GCM(sealing key, primary key, aad=provider name)
    <provider>.seal       the sealing key: never in the same file as what it seals

A backup is the primary key under a key derived from a password (scrypt), as a small JSON header (the
associated data) and the sealed key. Restoring it into another vCenter gives that vCenter the same
provider, so it can get the keys of VMs encrypted by the first one.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..crypto.files import private_folder, write_private
from ..model.faults import CryptoKeyUnavailable, InvalidArgument

SEALED, SEAL = ".nkp", ".seal"
BACKUP_FORMAT = "linkedmode-native-key-provider-backup/1"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
MIN_PASSWORD = 8
_NONCE = 12


class NativeKeyProvider:
    def __init__(self, name: str, primary: bytearray) -> None:
        self.name = name
        self._primary = primary

    # -- keys ------------------------------------------------------------------------------------

    @staticmethod
    def new_key_id() -> str:
        return str(uuid.uuid4())

    def get_key(self, key_id: str) -> bytearray:
        if self._primary is None or not key_id:
            raise CryptoKeyUnavailable(f"key provider {self.name} has no key {key_id!r}", key_provider=self.name)
        info = f"linkedmode native key provider {self.name} key {key_id}".encode()
        return bytearray(HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(bytes(self._primary)))

    # -- the sealed store ------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, folder: Path) -> NativeKeyProvider:
        provider = cls(name, bytearray(os.urandom(32)))
        provider.save(folder)
        return provider

    def save(self, folder: Path) -> None:
        folder = private_folder(Path(folder))
        seal = os.urandom(32)
        nonce = os.urandom(_NONCE)
        write_private(folder / f"{self.name}{SEAL}", seal)
        write_private(folder / f"{self.name}{SEALED}", nonce + AESGCM(seal).encrypt(nonce, bytes(self._primary), self.name.encode()))

    @classmethod
    def load(cls, name: str, folder: Path) -> NativeKeyProvider:
        sealed, seal = (Path(folder) / f"{name}{SEALED}").read_bytes(), (Path(folder) / f"{name}{SEAL}").read_bytes()
        try:
            primary = AESGCM(seal).decrypt(sealed[:_NONCE], sealed[_NONCE:], name.encode())
        except InvalidTag:
            raise CryptoKeyUnavailable(f"the sealed store of key provider {name} does not open under its sealing key",
                                       key_provider=name) from None
        return cls(name, bytearray(primary))

    @staticmethod
    def stored(folder: Path) -> list[str]:
        """The providers sealed in a folder, by name."""
        folder = Path(folder)
        return sorted(p.name.removesuffix(SEALED) for p in folder.glob(f"*{SEALED}")) if folder.is_dir() else []

    @staticmethod
    def remove(name: str, folder: Path) -> None:
        """The provider's sealed files gone from the folder."""
        for suffix in (SEALED, SEAL):
            (Path(folder) / f"{name}{suffix}").unlink(missing_ok=True)

    # -- backup and restore ----------------------------------------------------------------------

    def backup(self, password: str) -> bytes:
        """The provider sealed under `password`, as the bytes of a backup file."""
        _check_password(password)
        salt = os.urandom(16)
        header = {"format": BACKUP_FORMAT, "provider": self.name, "kdf": "scrypt", **_SCRYPT,
                  "salt": base64.b64encode(salt).decode()}
        aad = json.dumps(header, sort_keys=True).encode()
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(_password_key(password, salt)).encrypt(nonce, bytes(self._primary), aad)
        return json.dumps({"header": header, "sealed": base64.b64encode(nonce + sealed).decode()}, sort_keys=True).encode()

    @classmethod
    def restore(cls, backup: bytes, password: str) -> NativeKeyProvider:
        """The provider of a backup file; a wrong password or an altered file opens nothing."""
        try:
            document = json.loads(backup)
            header, sealed = document["header"], base64.b64decode(document["sealed"])
            if header.get("format") != BACKUP_FORMAT:
                raise ValueError
            name, salt = str(header["provider"]), base64.b64decode(header["salt"])
        except (ValueError, KeyError, TypeError):
            raise InvalidArgument("the file is not a Native Key Provider backup", argument="backup") from None
        aad = json.dumps(header, sort_keys=True).encode()
        try:
            primary = AESGCM(_password_key(password, salt)).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)
        except InvalidTag:
            raise InvalidArgument(f"the backup of key provider {name} does not open with this password "
                                  "(or the file was altered)", argument="password") from None
        return cls(name, bytearray(primary))

    def wipe(self) -> None:
        self._primary[:] = bytes(len(self._primary))

    def __repr__(self) -> str:
        return f"NativeKeyProvider({self.name!r})"


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidArgument(f"a backup password has at least {MIN_PASSWORD} characters", argument="password")


def _password_key(password: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(password.encode())

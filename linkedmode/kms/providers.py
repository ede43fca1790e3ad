"""One vCenter's key providers, by name: Standard ones (a KMS over KMIP) and Native ones (sealed here).

A VM's data key is wrapped (AES key wrap, RFC 3394) under a key of its provider; the VM keeps the
provider's name, the key's id and the wrapped data key, never a key in the clear.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from ..crypto.files import write_private
from ..model.faults import AlreadyExists, CryptoKeyUnavailable, InvalidArgument, NotFound, NotSupported
from ..topology.spec import is_native_key_provider
from .kmip import KmipKeyServer
from .native import NativeKeyProvider

DEFAULT_FILE = "default.json"
ADDED_FILE = "standard.json"       # Standard Key Providers added while running: name -> KMS address


class KeyProvider(Protocol):
    def new_key(self) -> str: ...
    def get_key(self, key_id: str) -> bytearray: ...


class StandardKeyProvider:
    """A key provider whose keys live on a KMS: each new key is made there, and fetched by id."""

    def __init__(self, name: str, kms: KmipKeyServer) -> None:
        self.name = name
        self.kms = kms

    def new_key(self) -> str:
        return self.kms.create_key()

    def get_key(self, key_id: str) -> bytearray:
        return self.kms.get_key(key_id)


class NativeKeys:
    """A Native Key Provider as a KeyProvider: a new key is a new id, its key derived on demand."""

    def __init__(self, provider: NativeKeyProvider) -> None:
        self.name = provider.name
        self.provider = provider

    def new_key(self) -> str:
        return self.provider.new_key_id()

    def get_key(self, key_id: str) -> bytearray:
        return self.provider.get_key(key_id)


class KeyProviders:
    """`native`: the Native Key Providers the topology gives this vCenter (made at first start);
    `standard`: its KMSs by provider name; `order`: the topology's order of them (the first is the
    default unless another was chosen); `kms_client(name, address)`: how this vCenter reaches a KMS
    added while it runs (`add_standard`). `folder` holds the sealed Native Key Providers, restored ones
    included, the KMSs added, and which provider is the default."""

    def __init__(self, vcenter: str, folder: Path, native: tuple[str, ...] = (), standard: dict[str, KmipKeyServer] | None = None,
                 order: tuple[str, ...] = (), kms_client: Callable[[str, str], KmipKeyServer] | None = None) -> None:
        self.vcenter = vcenter
        self.folder = Path(folder)
        self._order: list[str] = []
        self._providers: dict[str, KeyProvider] = {}
        self._natives: dict[str, NativeKeyProvider] = {}
        self._kms: dict[str, KmipKeyServer] = dict(standard or {})
        self._kms_client = kms_client
        self._topology = set(native) | set(self._kms)      # what reset() keeps
        stored = set(NativeKeyProvider.stored(self.folder))
        for name in native:
            provider = NativeKeyProvider.load(name, self.folder) if name in stored else NativeKeyProvider.create(name, self.folder)
            self._add_native(provider)
        for name, kms in self._kms.items():
            self._add(name, StandardKeyProvider(name, kms))
        for name in sorted(stored - set(native)):         # restored from another vCenter's backup
            self._add_native(NativeKeyProvider.load(name, self.folder))
        if kms_client is not None:
            for name, address in self._added().items():
                if name not in self._providers:
                    self._kms[name] = kms_client(name, address)
                    self._add(name, StandardKeyProvider(name, self._kms[name]))
        listed = [n for n in order if n in self._providers]    # the topology's order: its first is the default
        self._order = listed + [n for n in self._order if n not in listed]

    def _add_native(self, provider: NativeKeyProvider) -> None:
        self._natives[provider.name] = provider
        self._add(provider.name, NativeKeys(provider))

    def _add(self, name: str, provider: KeyProvider) -> None:
        if name not in self._providers:
            self._order.append(name)
        self._providers[name] = provider

    # -- which providers -------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._order)

    def is_native(self, name: str) -> bool:
        return name in self._natives

    def address(self, name: str) -> str:
        """Where a Standard Key Provider's KMS listens; "" for a native one."""
        kms = self._kms.get(name)
        return kms.address if kms is not None else ""

    @property
    def default(self) -> str:
        path = self.folder / DEFAULT_FILE
        chosen = json.loads(path.read_text()).get("default", "") if path.exists() else ""
        if chosen in self._providers:
            return str(chosen)
        return self._order[0] if self._order else ""

    def set_default(self, name: str) -> None:
        self.provider(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_private(self.folder / DEFAULT_FILE, json.dumps({"default": name}).encode())

    def provider(self, name: str) -> KeyProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise NotFound(f"{self.vcenter} has no key provider {name!r} (it has {', '.join(self._order) or 'none'})",
                           argument="key_provider")
        return provider

    # -- data keys -------------------------------------------------------------------------------

    def new_data_key(self, name: str, data_key: bytes | bytearray) -> tuple[str, bytes]:
        """A new key of provider `name` and `data_key` wrapped under it: (key id, key safe)."""
        provider = self.provider(name)
        key_id = provider.new_key()
        return key_id, self._wrap(provider, key_id, data_key)

    def open_key_safe(self, name: str, key_id: str, key_safe: bytes) -> bytearray:
        """The data key wrapped in `key_safe` (a bytearray, for the caller to wipe)."""
        key = self.key(name, key_id)
        try:
            return bytearray(aes_key_unwrap(bytes(key), key_safe))
        except InvalidUnwrap:
            raise CryptoKeyUnavailable(f"the data key does not unwrap under key {key_id} of {name}", key_provider=name) from None
        finally:
            key[:] = bytes(len(key))

    def _wrap(self, provider: KeyProvider, key_id: str, data_key: bytes | bytearray) -> bytes:
        key = provider.get_key(key_id)
        try:
            return aes_key_wrap(bytes(key), bytes(data_key))
        finally:
            key[:] = bytes(len(key))

    def key(self, name: str, key_id: str) -> bytearray:
        """The key `key_id` of provider `name`, as this vCenter can get it (row X6)."""
        if name not in self._providers:
            raise CryptoKeyUnavailable(f"{self.vcenter} has no key provider {name!r} "
                                       f"(it has {', '.join(self._order) or 'none'})", key_provider=name)
        return self._providers[name].get_key(key_id)

    def check_key(self, name: str, key_id: str) -> None:
        key = self.key(name, key_id)
        key[:] = bytes(len(key))

    # -- Standard Key Providers added while running --------------------------------------------------

    def _added(self) -> dict[str, str]:
        path = self.folder / ADDED_FILE
        return {str(k): str(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}

    def add_standard(self, name: str, address: str) -> None:
        """Adds the KMS at `address` as Standard Key Provider `name`, once this vCenter has reached it
        over mutual TLS and found the KMS of that name there."""
        if name in self._providers:
            raise AlreadyExists(f"{self.vcenter} already has a key provider {name}", argument="name")
        if is_native_key_provider(name):
            raise InvalidArgument(f"{name!r} names a Native Key Provider: a KMS needs another name", argument="name")
        host, _, port = address.rpartition(":")
        try:
            ipaddress.ip_address(host.strip("[]"))      # an address, never a name to look up
        except ValueError:
            host = ""
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgument(f"KMS address {address[:100]!r} is not IP:PORT", argument="kms_address")
        if self._kms_client is None:
            raise NotSupported(f"{self.vcenter} cannot add a KMS while it runs", argument="name")
        kms = self._kms_client(name, address)
        try:
            kms.reach()
        except BaseException:
            kms.close()
            raise
        self.folder.mkdir(parents=True, exist_ok=True)
        write_private(self.folder / ADDED_FILE, json.dumps({**self._added(), name: address}).encode())
        self._kms[name] = kms
        self._add(name, StandardKeyProvider(name, kms))

    # -- Native Key Provider backup --------------------------------------------------------------

    def backup(self, name: str, password: str) -> bytes:
        native = self._natives.get(name)
        if native is None:
            if name in self._providers:
                raise InvalidArgument(f"{name} is a Standard Key Provider: its keys are on its KMS, which has its own backup",
                                      argument="key_provider")
            self.provider(name)
        assert native is not None
        return native.backup(password)

    def restore(self, backup: bytes, password: str) -> str:
        provider = NativeKeyProvider.restore(backup, password)
        if provider.name in self._providers:
            provider.wipe()
            raise AlreadyExists(f"{self.vcenter} already has a key provider {provider.name}", argument="key_provider")
        provider.save(self.folder)
        self._add_native(provider)
        return provider.name

    # -- back to the topology's -------------------------------------------------------------------

    def reset(self) -> None:
        """Only the topology's providers again: those restored from a backup or added while running are
        forgotten (their files removed), and the topology's first is the default again."""
        for name in [n for n in self._order if n not in self._topology]:
            if name in self._natives:
                self._natives.pop(name).wipe()
                NativeKeyProvider.remove(name, self.folder)
            if name in self._kms:
                self._kms.pop(name).close()
            del self._providers[name]
            self._order.remove(name)
        for path in (self.folder / ADDED_FILE, self.folder / DEFAULT_FILE):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        for kms in self._kms.values():
            kms.close()
        for native in self._natives.values():
            native.wipe()

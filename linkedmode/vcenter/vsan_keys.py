"""The data keys of a vCenter's encrypted vSAN datastores (row D4), opened from their key safes.

A datastore keeps its key provider, key id and wrapped data key (made at seed, like an encrypted VM's);
`layer` unwraps it with the key got by id from that provider into a VsanEncryption for whoever reads
or writes the datastore's files, and that holder wipes it when done. A datastore without vSAN
encryption has no layer (None). No key is logged, posted or kept here.
"""

from __future__ import annotations

import base64

from ..kms.providers import KeyProviders
from ..model.faults import InvalidState
from ..model.inventory import Datastore
from ..vmotion.vsan import VsanEncryption
from .state import VCenterState


class VsanKeys:
    def __init__(self, state: VCenterState, keys: KeyProviders) -> None:
        self.state = state
        self.keys = keys

    def _open(self, datastore: str | Datastore) -> bytearray | None:
        """The datastore's data key, unwrapped (the caller wipes it); None without vSAN encryption."""
        store = datastore if isinstance(datastore, Datastore) else self.state.get(datastore, Datastore)
        if not store.encrypted:
            return None
        if not store.key_safe:
            raise InvalidState(f"datastore {store.name} is vSAN-encrypted but has no data key", object=store.moid)
        return self.keys.open_key_safe(store.key_provider, store.key_id, base64.b64decode(store.key_safe))

    def layer(self, datastore: str | Datastore) -> VsanEncryption | None:
        """The vSAN layer of a datastore (by moid, or the object), None without vSAN encryption."""
        key = self._open(datastore)
        if key is None:
            return None
        try:
            return VsanEncryption(key)
        finally:
            key[:] = bytes(len(key))

    def key(self, datastore: str) -> bytes:
        """The datastore key as bytes for a message to a host or a peer (b"": no vSAN encryption); the
        caller clears that message once sent (an immutable copy that can be dropped, not wiped)."""
        key = self._open(datastore)
        if key is None:
            return b""
        try:
            return bytes(key)
        finally:
            key[:] = bytes(len(key))

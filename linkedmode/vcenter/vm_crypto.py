"""Encrypting and decrypting a VM (rows K2, E6): ReconfigVm with a CryptoSpec, as a task.

Only a VM that is powered off and has no snapshots. Encrypting makes a random data key for the VM,
wraps it under a new key of the key provider (the wrapped key is the VM's key safe; the VM keeps the
provider's name and the key's id) and rewrites each disk as ciphertext; its migrate_encryption then reads
`required`. Decrypting unwraps the data key with the key got by id and rewrites the disks in the clear;
migrate_encryption stays `required` until changed. Every disk is rewritten beside itself and renamed
into place only once all are done, so a failure (a KMS that does not answer) leaves the VM as it was.
A disk on an encrypted vSAN datastore is read and written through that datastore's layer: the VM's
encryption is applied inside it, so such a disk is encrypted twice over (row D4).
The data key is wiped when the task ends; no key is logged, posted or returned.
"""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass, replace

from ..kms.providers import KeyProviders
from ..model import events as ev
from ..model.faults import InvalidArgument, InvalidPowerState, InvalidState
from ..model.inventory import Datastore, Vm
from ..model.settings import MigrateEncryption, PowerState
from ..model.tasks import ReconfigureResult, Task
from ..vmotion.disks import DATA_KEY_BYTES, crypt_disk
from ..vmotion.vsan import wipe_all
from .datastores import DatastoreFolders
from .events import vm_event
from .state import VCenterState
from .tasks import TaskControl, TaskRunner
from .vsan_keys import VsanKeys


@dataclass(frozen=True)
class EncryptVm:
    key_provider: str = ""      # "": the default key provider


@dataclass(frozen=True)
class DecryptVm:
    pass


CryptoChange = EncryptVm | DecryptVm


def check_crypto_change(vm: Vm, change: CryptoChange) -> None:
    if vm.power_state != PowerState.POWERED_OFF:
        raise InvalidPowerState(
            f"{vm.name} is {vm.power_state.value}: a VM is encrypted or decrypted only while it is powered off",
            object=vm.moid, requested_state="poweredOff", existing_state=vm.power_state.value)
    if vm.snapshots:
        raise InvalidState(f"{vm.name} has {len(vm.snapshots)} snapshot(s): a VM with snapshots cannot be encrypted or "
                           "decrypted; remove them first", object=vm.moid)
    if isinstance(change, EncryptVm) and vm.encrypted:
        raise InvalidState(f"{vm.name} is already encrypted (key provider {vm.key_provider})", object=vm.moid)
    if isinstance(change, DecryptVm) and not vm.encrypted:
        raise InvalidState(f"{vm.name} is not encrypted", object=vm.moid)


class VmCrypto:
    def __init__(self, state: VCenterState, tasks: TaskRunner, datastores: DatastoreFolders, keys: KeyProviders) -> None:
        self.state = state
        self.tasks = tasks
        self.datastores = datastores
        self.keys = keys

    def reconfigure(self, vm: Vm, change: CryptoChange, user: str) -> Task:
        def work(control: TaskControl) -> ReconfigureResult:
            current = self.state.get(vm.moid, Vm)
            check_crypto_change(current, change)
            if isinstance(change, EncryptVm):
                changed, said = self._encrypt(current, change.key_provider or self.keys.default)
            else:
                changed, said = self._decrypt(current)
            self.state.update(put=[changed], events=[vm_event(self.state, ev.VM_RECONFIGURED, changed,
                                                              f"Reconfigured {changed.name}: {said}", user=user, task=control.key)])
            return ReconfigureResult(("crypto",))

        return self.tasks.submit("VirtualMachine.reconfigure", vm.moid, vm.name, user, work)

    def _encrypt(self, vm: Vm, provider: str) -> tuple[Vm, str]:
        if not provider:
            raise InvalidArgument("this vCenter has no key provider: add one first", argument="spec.crypto.encrypt.key_provider")
        data_key = bytearray(os.urandom(DATA_KEY_BYTES))
        try:
            key_id, key_safe = self.keys.new_data_key(provider, data_key)
            self._rewrite_disks(vm, data_key, encrypt=True)
        finally:
            data_key[:] = bytes(len(data_key))
        changed = replace(vm, encrypted=True, key_provider=provider, key_id=key_id, key_safe=base64.b64encode(key_safe).decode(),
                          migrate_encryption=MigrateEncryption.REQUIRED, disks=[replace(d, encrypted=True) for d in vm.disks])
        return changed, f"encrypted with key provider {provider} (key {key_id})"

    def _decrypt(self, vm: Vm) -> tuple[Vm, str]:
        data_key = self.keys.open_key_safe(vm.key_provider, vm.key_id, base64.b64decode(vm.key_safe))
        try:
            self._rewrite_disks(vm, data_key, encrypt=False)
        finally:
            data_key[:] = bytes(len(data_key))
        changed = replace(vm, encrypted=False, key_provider="", key_id="", key_safe="",
                          disks=[replace(d, encrypted=False) for d in vm.disks])
        return changed, f"decrypted (was key provider {vm.key_provider}); migrate_encryption stays {vm.migrate_encryption.value}"

    def _rewrite_disks(self, vm: Vm, data_key: bytearray, *, encrypt: bool) -> None:
        paths = [self.datastores.disk_path(self.state.get(d.datastore, Datastore).name, vm.name, d) for d in vm.disks]
        vsan = VsanKeys(self.state, self.keys)
        done: list[tuple[str, str]] = []
        try:
            for path, disk in zip(paths, vm.disks, strict=True):
                layer = vsan.layer(disk.datastore)
                try:
                    done.append((crypt_disk(path, data_key, encrypt=encrypt, vsan=layer), path))
                finally:
                    wipe_all([layer])
        except BaseException:
            for rewritten, _ in done:
                with contextlib.suppress(OSError):
                    os.unlink(rewritten)
            raise
        for rewritten, path in done:
            os.replace(rewritten, path)

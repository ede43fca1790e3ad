"""vSAN data-at-rest encryption (row D4): the layer between a disk's blocks as the guest sees them and
the bytes in the files of an encrypted vSAN datastore.

An encrypted vSAN datastore has one data key (AES-256-XTS, 64 bytes), made by its vCenter and wrapped
under a key of its key provider like a VM's data key; whoever reads or writes one of its disk files
(the vCenter seeding or rewriting a disk, a host sending or receiving one on a page stream, a cold
move's copy) holds the key in memory only, in a ``VsanEncryption``, and wipes it when done.

Each 64 KiB block is encrypted on its own, its block number the XTS tweak, so a file keeps its size
and its holes. A block of zeros is kept as zeros and a stored block of zeros reads as zeros: that is
what a hole is, and it lets a disk be read whole where the file system cannot tell holes from data.
(Which blocks hold zeros is thus visible, as holes are.)

The layer is independent of VM encryption: an encrypted VM's blocks are already ciphertext under the
VM's key when they reach it, and are encrypted again here, so its disk on an encrypted vSAN datastore
is encrypted twice over (the VM's layer inside, the datastore's outside). Data that leaves a datastore
(a page stream, a cold copy) leaves through this layer, decrypted; the destination's layer, if any,
encrypts it again. The page stream seals it under the migration key as always.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..model.faults import InvalidArgument
from .frames import DISK_BLOCK, is_zero_block

VSAN_KEY_BYTES = 64                  # AES-256-XTS: two 256-bit keys


class VsanKeyWiped(RuntimeError):
    """The datastore key was used after wipe(): whoever held it is done with the disk."""


class VsanEncryption:
    """The data key of one encrypted vSAN datastore, applied to runs of 64 KiB blocks in place."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | bytearray | memoryview) -> None:
        if len(key) != VSAN_KEY_BYTES:
            raise ValueError(f"a vSAN datastore key is {VSAN_KEY_BYTES} bytes (AES-256-XTS), got {len(key)}")  # never the bytes
        if not any(key):
            raise ValueError("a vSAN datastore key is all zeros: not a key a vCenter made")
        self._key = bytearray(key)

    def __repr__(self) -> str:
        return f"VsanEncryption({'wiped' if self.wiped else 'a key'})"

    @property
    def wiped(self) -> bool:
        return not any(self._key)

    def encrypt(self, first_block: int, blocks: bytearray | memoryview) -> None:
        """Encrypts the blocks from ``first_block`` on, in place (blocks of zeros stay zeros)."""
        self._apply(first_block, blocks, encrypt=True)

    def decrypt(self, first_block: int, blocks: bytearray | memoryview) -> None:
        """Decrypts the blocks from ``first_block`` on, in place (blocks of zeros read as zeros)."""
        self._apply(first_block, blocks, encrypt=False)

    def _apply(self, first_block: int, blocks: bytearray | memoryview, *, encrypt: bool) -> None:
        if self.wiped:
            raise VsanKeyWiped("the vSAN datastore key was wiped")
        # the bytearray itself: no immutable copy of the key
        xts_blocks(algorithms.AES(self._key), first_block, memoryview(blocks), encrypt=encrypt, keep_zeros=True)

    def wipe(self) -> None:
        self._key[:] = bytes(len(self._key))


def vsan_layer(field: str, key: bytes) -> VsanEncryption | None:
    """The layer a datastore key from a message makes; None for no key (a datastore without vSAN encryption)."""
    if not key:
        return None
    try:
        return VsanEncryption(key)
    except ValueError as error:
        raise InvalidArgument(f"{field}: {error}", argument=field) from None


def wipe_all(layers: Iterable[VsanEncryption | None]) -> None:
    for layer in layers:
        if layer is not None:
            layer.wipe()


def xts_blocks(aes: algorithms.AES, first_block: int, view: memoryview, *, encrypt: bool, keep_zeros: bool) -> None:
    """AES-XTS on each disk block of `view` in place, the block's number as its tweak (a cipher per block:
    `cryptography` fixes the tweak when the cipher is made). With `keep_zeros`, blocks of zeros stay
    zeros (holes read as holes)."""
    for at in range(0, len(view), DISK_BLOCK):
        block = view[at:at + DISK_BLOCK]
        if keep_zeros and is_zero_block(block):
            continue
        cipher = Cipher(aes, modes.XTS((first_block + at // DISK_BLOCK).to_bytes(16, "little")))
        worker = cipher.encryptor() if encrypt else cipher.decryptor()
        block[:] = worker.update(block) + worker.finalize()

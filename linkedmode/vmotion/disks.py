"""Virtual disk files, and their written blocks crossing on a migration's stream.

A disk is a sparse file of its capacity: blocks nobody wrote are holes, which cost nothing on the
datastore and never cross. Its block map (the 64 KiB blocks that hold data, found with SEEK_DATA /
SEEK_HOLE) is what a live migration that changes datastore sends, as DISK frames on the page stream,
sealed like pages when the migration is encrypted; the destination writes them into a new sparse
file and compares its digest of the disk with the source's at the checkpoint. A cold move copies the
same blocks file to file (``copy_disk``).

Writes the guest makes to a disk while it moves are not tracked (there is no mirror driver): a disk
crosses once, as it is when its turn comes, after the first pre-copy round.

An encrypted VM's disks are ciphertext at rest (``crypt_disk``): each 64 KiB data block is encrypted
with AES-256-XTS under the VM's data key, its block number the tweak, so the file keeps its size and its
holes, and every move above carries the ciphertext as it is.

A disk on an encrypted vSAN datastore is read and written through that datastore's layer
(``VsanEncryption``, vsan.py): each reader and writer here takes the layer of the datastore its file is
on (None: a plain datastore), so what crosses and what is digested are the blocks as the guest sees them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.ciphers import algorithms

from ..crypto.files import private_folder
from ..model.faults import FileAlreadyExists, FileFault, FileNotFound, InvalidArgument
from .frames import DISK_BLOCK, FrameKind, is_zero_block
from .packing import RunPacker
from .stream import FrameWriter
from .vsan import VSAN_KEY_BYTES, VsanEncryption, xts_blocks

FRAME_BLOCKS = 16                      # 1 MiB of blocks per DISK frame
MAX_DISK_MB = 62 << 20                 # 62 TB, VMFS's largest virtual disk


def check_disk_path(field: str, path: str) -> str:
    """A disk file as a message may name it: an absolute path to a .vmdk, without "..": never a file
    that is not a disk, nor one relative to wherever the part runs."""
    if not path:
        raise InvalidArgument(f"{field} is required", argument=field)
    parts = PurePosixPath(path).parts
    if not path.startswith("/") or not path.endswith(".vmdk") or ".." in parts or "\0" in path or len(path) > 4096:
        raise InvalidArgument(f"{field} {path[:200]!r} is not the absolute path of a .vmdk file", argument=field)
    return path


def _file_fault(error: OSError, path: str | Path, doing: str) -> FileFault:
    if isinstance(error, FileNotFoundError):
        return FileNotFound(f"cannot {doing} {path}: no such file", object=str(path))
    if isinstance(error, FileExistsError):
        return FileAlreadyExists(f"cannot {doing} {path}: the file already exists", object=str(path))
    return FileFault(f"cannot {doing} {path}: {error.strerror or type(error).__name__}", object=str(path))


def block_map(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(first_block, count) of each run of 64 KiB blocks that hold data, in order; holes are skipped.
    A file system without SEEK_DATA reads as one run of data."""
    blocks = -(-size // DISK_BLOCK)
    pending: tuple[int, int] | None = None
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        except OSError as error:
            if error.errno == errno.ENXIO:          # nothing but holes from offset on
                break
            if error.errno == errno.EINVAL and offset == 0:
                pending = (0, blocks)
                break
            raise
        first, last = start // DISK_BLOCK, min(-(-end // DISK_BLOCK), blocks)
        if pending is not None and pending[0] + pending[1] >= first:
            pending = (pending[0], last - pending[0])
        else:
            if pending is not None:
                yield pending
            pending = (first, last - first)
        offset = last * DISK_BLOCK
    if pending is not None:
        yield pending


class DiskDigest:
    """SHA-256 over the disk's size, then over each block that is not all zeros (its number, its bytes),
    in order. A hole and a block of zeros count the same: the digest follows the content, not how the
    file system stores it."""

    def __init__(self, size: int) -> None:
        self._hash = hashlib.sha256(size.to_bytes(8, "big"))
        self.next_block = 0

    def update(self, first_block: int, data: memoryview | bytes) -> None:
        """Blocks from ``first_block`` on; they must come after every block given before."""
        if first_block < self.next_block:
            raise ValueError(f"block {first_block} comes after block {self.next_block - 1}")
        view = memoryview(data)
        for at in range(0, len(view), DISK_BLOCK):
            block = view[at:at + DISK_BLOCK]
            if not is_zero_block(block):
                self._hash.update((first_block + at // DISK_BLOCK).to_bytes(8, "big"))
                self._hash.update(block)
        self.next_block = first_block + -(-len(view) // DISK_BLOCK)

    def digest(self) -> bytes:
        return self._hash.digest()


@dataclass(frozen=True)
class DiskFile:
    """A disk file as a host reads or writes it on a move: its path, its size (where it is made) and the
    vSAN layer of its datastore (None: a datastore without vSAN encryption)."""

    path: str
    size: int = 0
    vsan: VsanEncryption | None = None


def disk_digest(path: str | Path, vsan: VsanEncryption | None = None) -> bytes:
    """The digest of a disk file, read from scratch (only its data blocks are read), through the vSAN
    layer of its datastore if it has one."""
    with DiskReader(path, vsan) as disk:
        digest = DiskDigest(disk.size)
        for first, count in disk.runs():
            digest.update(first, memoryview(disk.read(first, count)))
        return digest.digest()


class DiskReader:
    """A disk file opened to be read block by block (the source of a move), through ``vsan``, the layer
    of its datastore, if it has one."""

    def __init__(self, path: str | Path, vsan: VsanEncryption | None = None) -> None:
        self.path = str(path)
        self.vsan = vsan
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
            self.size = os.fstat(self._fd).st_size
        except OSError as error:
            raise _file_fault(error, path, "read the disk") from None

    def runs(self, frame_blocks: int | None = None) -> Iterator[tuple[int, int]]:
        """The block map, runs cut to at most ``frame_blocks`` blocks."""
        try:
            for first, count in block_map(self._fd, self.size):
                end = first + count
                while first < end:
                    n = min(frame_blocks or count, end - first)
                    yield first, n
                    first += n
        except OSError as error:
            raise _file_fault(error, self.path, "map the disk") from None

    def read_into(self, first_block: int, target: memoryview) -> None:
        """Fills ``target`` with the blocks from ``first_block`` (past the end of the file: zeros)."""
        try:
            done = 0
            while done < len(target):
                got = os.preadv(self._fd, [target[done:]], first_block * DISK_BLOCK + done)
                if got == 0:
                    target[done:] = bytes(len(target) - done)
                    break
                done += got
        except OSError as error:
            raise _file_fault(error, self.path, "read the disk") from None
        if self.vsan is not None:
            self.vsan.decrypt(first_block, target)

    def read(self, first_block: int, count: int) -> bytearray:
        data = bytearray(count * DISK_BLOCK)
        self.read_into(first_block, memoryview(data))
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DiskReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DiskWriter:
    """A new disk file being filled (the destination of a move): a sparse file of ``size`` bytes that
    did not exist before, so that ``discard`` can only ever remove what this writer made. Blocks go
    through ``vsan``, the layer of its datastore, if it has one; the digest is of the blocks given."""

    def __init__(self, path: str | Path, size: int, vsan: VsanEncryption | None = None) -> None:
        self.path = Path(path)
        self.size = size
        self.vsan = vsan
        self.blocks = -(-size // DISK_BLOCK)
        self._digest = DiskDigest(size)
        self.bytes_written = 0
        self._fd = -1
        try:
            private_folder(self.path.parent)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise _file_fault(error, path, "create the disk") from None
        try:
            os.ftruncate(self._fd, size)
        except OSError as error:
            self.discard()
            raise _file_fault(error, path, "size the disk") from None

    def write(self, first_block: int, data: memoryview | bytes) -> None:
        """Writes blocks at ``first_block``; blocks must come in order, within the disk's capacity."""
        count = -(-len(data) // DISK_BLOCK)
        if first_block + count > self.blocks:
            raise ValueError(f"blocks {first_block}..{first_block + count} are beyond the disk's {self.blocks}")
        self._digest.update(first_block, data)
        view = memoryview(data)
        if self.vsan is not None:
            if view.readonly:
                view = memoryview(bytearray(view))
            self.vsan.encrypt(first_block, view)         # in place: callers hand over blocks they are done with
        view = view[:max(self.size - first_block * DISK_BLOCK, 0)]
        try:
            done = 0
            while done < len(view):
                done += os.pwrite(self._fd, view[done:], first_block * DISK_BLOCK + done)
        except OSError as error:
            raise _file_fault(error, self.path, "write the disk") from None
        self.bytes_written += len(view)

    def digest(self) -> bytes:
        return self._digest.digest()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        """Closes and removes the file (and its VM folder, if that is left empty)."""
        self.close()
        remove_disk(self.path)


def remove_disk(path: str | Path) -> None:
    """Removes a disk file, and the VM folder it was in if nothing else is left there."""
    path = Path(path)
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):      # other files of the VM are still there
        path.parent.rmdir()


def create_disk(path: str | Path, size: int, written_blocks: int = 4) -> None:
    """A virtual disk as a guest would have left it: a sparse file of ``size`` bytes with a few blocks
    of random data spread over it (the first, the last and some between), so a move has something to
    copy. An existing file at ``path`` is replaced."""
    path = Path(path)
    blocks = -(-size // DISK_BLOCK)
    n = min(written_blocks, blocks)
    chosen = sorted({round(i * (blocks - 1) / max(n - 1, 1)) for i in range(n)})
    try:
        private_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, size)
            for block in chosen:
                os.pwrite(fd, os.urandom(min(DISK_BLOCK, size - block * DISK_BLOCK)), block * DISK_BLOCK)
        finally:
            os.close(fd)
    except OSError as error:
        raise _file_fault(error, path, "create the disk") from None


def copy_disk(source: str | Path, destination: str | Path, source_vsan: VsanEncryption | None = None,
              destination_vsan: VsanEncryption | None = None) -> int:
    """A plain, sparse-aware copy (a cold move's NFC copy): only the data blocks are read and written,
    holes stay holes; each side through the vSAN layer of its datastore, if it has one. The destination
    must not exist; a copy that fails is removed. Returns the bytes copied."""
    with DiskReader(source, source_vsan) as reader:
        writer = DiskWriter(destination, reader.size, destination_vsan)
        try:
            for first, count in reader.runs(FRAME_BLOCKS):
                writer.write(first, memoryview(reader.read(first, count)))
        except BaseException:
            writer.discard()
            raise
        writer.close()
        return writer.bytes_written


def send_disk(writer: FrameWriter, number: int, path: str | Path, vsan: VsanEncryption | None = None) -> tuple[bytes, int]:
    """Sends the data blocks of disk ``number`` (its file at ``path``, read through the vSAN layer of
    its datastore if it has one) as DISK frames on a FrameWriter; returns the disk's digest and the
    bytes of blocks sent."""
    sent = 0
    packer = RunPacker(writer, FrameKind.DISK, FRAME_BLOCKS, DISK_BLOCK)
    with DiskReader(path, vsan) as disk:
        digest = DiskDigest(disk.size)
        for first, count in disk.runs(FRAME_BLOCKS):
            blocks = memoryview(bytearray(count * DISK_BLOCK))   # a fresh buffer: the writer may hold it until it flushes
            disk.read_into(first, blocks)
            digest.update(first, blocks)
            packer.add(first, count, blocks, tag=number)
            sent += len(blocks)
        packer.flush()
    return digest.digest(), sent


DATA_KEY_BYTES = VSAN_KEY_BYTES        # AES-256-XTS: two 256-bit keys, as a datastore's


def crypt_disk(path: str | Path, data_key: bytes | bytearray, *, encrypt: bool, vsan: VsanEncryption | None = None) -> str:
    """Encrypts (or decrypts) every data block of the disk at ``path`` into a new file beside it and
    returns that file's path: the caller renames it over the disk once every disk of the VM is done, so
    a failure leaves the disks as they were. Holes stay holes. On an encrypted vSAN datastore (``vsan``)
    the VM's layer is applied inside the datastore's: blocks are read and written through it."""
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError("a disk data key is 64 bytes (AES-256-XTS)")
    target = f"{path}.crypt"
    Path(target).unlink(missing_ok=True)          # left by a run that did not finish
    key = bytearray(data_key)      # the cipher holds this copy, wiped below: none left per block
    aes = algorithms.AES(key)
    try:
        with DiskReader(path, vsan) as reader:
            writer = DiskWriter(target, reader.size, vsan)
            try:
                for first, count in reader.runs(FRAME_BLOCKS):
                    blocks = reader.read(first, count)
                    xts_blocks(aes, first, memoryview(blocks), encrypt=encrypt, keep_zeros=False)
                    writer.write(first, memoryview(blocks))
            except BaseException:
                writer.discard()
                raise
            writer.close()
    finally:
        key[:] = bytes(len(key))
    return target

"""Disks that change datastore: block maps of sparse files, the plain copy of a cold move, and the DISK
frames of a live one (holes never cross; sealed like pages when encrypted; checked at the checkpoint)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from vmotion_helpers import secrets_pair
from vmotion_mitm import Tamper, VMotionProxy

from linkedmode.model.faults import Fault, FileAlreadyExists, FileNotFound, InvalidArgument, MigrationFault
from linkedmode.vmotion import GuestMemory, OutgoingMigration, VMotionListener
from linkedmode.vmotion.disks import DiskDigest, DiskReader, block_map, check_disk_path, copy_disk, create_disk, disk_digest
from linkedmode.vmotion.frames import DISK_BLOCK, RUN, FrameKind, decode_header

MB = 1 << 20
MARKER = b"disk-secret:customer-ledger-0042"


def disk_with(path: Path, size: int, blocks: dict[int, bytes]) -> Path:
    """A sparse disk of ``size`` bytes with ``blocks`` (block number -> bytes written at its start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.ftruncate(fd, size)
        for block, data in blocks.items():
            os.pwrite(fd, data, block * DISK_BLOCK)
    finally:
        os.close(fd)
    return path


def runs_of(path: Path) -> list[tuple[int, int]]:
    with DiskReader(path) as disk:
        return list(disk.runs())


def test_the_block_map_lists_written_blocks_and_skips_holes(tmp_path: Path) -> None:
    disk = disk_with(tmp_path / "a.vmdk", 4 * MB, {0: b"x", 1: b"y" * DISK_BLOCK, 10: b"z", 63: b"end"})
    assert runs_of(disk) == [(0, 2), (10, 1), (63, 1)]
    with DiskReader(disk) as reader:
        assert list(reader.runs(frame_blocks=1)) == [(0, 1), (1, 1), (10, 1), (63, 1)]
    assert runs_of(disk_with(tmp_path / "empty.vmdk", 4 * MB, {})) == []
    with open(disk, "rb") as f:
        assert list(block_map(f.fileno(), 0)) == []


def test_the_digest_follows_content_not_allocation(tmp_path: Path) -> None:
    holes = disk_with(tmp_path / "holes.vmdk", 2 * MB, {3: b"data"})
    zeros = disk_with(tmp_path / "zeros.vmdk", 2 * MB, {0: bytes(DISK_BLOCK), 3: b"data"})   # block 0 written, as zeros
    assert runs_of(zeros)[0] == (0, 1)
    assert disk_digest(holes) == disk_digest(zeros)
    assert disk_digest(holes) != disk_digest(disk_with(tmp_path / "other.vmdk", 2 * MB, {3: b"dat4"}))
    assert disk_digest(holes) != disk_digest(disk_with(tmp_path / "bigger.vmdk", 3 * MB, {3: b"data"}))
    digest = DiskDigest(MB)
    digest.update(2, b"x")
    with pytest.raises(ValueError, match="comes after"):
        digest.update(1, b"y")


def test_a_cold_copy_keeps_the_holes_and_refuses_to_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "src.vmdk"
    create_disk(source, 64 * MB, written_blocks=3)
    assert runs_of(source) == [(0, 1), (512, 1), (1023, 1)]          # first, last and between
    copied = copy_disk(source, tmp_path / "vm" / "dst.vmdk")
    assert copied == 3 * DISK_BLOCK
    target = tmp_path / "vm" / "dst.vmdk"
    assert os.path.getsize(target) == 64 * MB and disk_digest(target) == disk_digest(source)
    assert os.stat(target).st_blocks * 512 < 1 * MB            # sparse: 64 MB of capacity, 192 KiB of data
    with pytest.raises(FileAlreadyExists):
        copy_disk(source, target)
    with pytest.raises(FileNotFound):
        copy_disk(tmp_path / "missing.vmdk", tmp_path / "new.vmdk")
    assert not (tmp_path / "new.vmdk").exists()


@pytest.mark.parametrize("path", ["", "relative/disk.vmdk", "/etc/passwd", "/ds/../../etc/x.vmdk", "/ds/a\0.vmdk"])
def test_a_message_cannot_name_a_file_that_is_not_a_disk(path: str) -> None:
    with pytest.raises(InvalidArgument):
        check_disk_path("disk", path)


def migrate_with_disk(listener: VMotionListener, tmp_path: Path, encrypted: bool, tamper: Tamper | None = None):  # type: ignore[no-untyped-def]
    """A 4 MB VM with one 8 MB disk (three written blocks, the marker in each) moving to a new file."""
    memory = GuestMemory(4)
    memory.fill_random(0.25)
    source = disk_with(tmp_path / "source.vmdk", 8 * MB, {b: MARKER + os.urandom(DISK_BLOCK - len(MARKER)) for b in (0, 40, 127)})
    destination = tmp_path / "ds-new" / "vm" / "Hard-disk-1.vmdk"
    ours, theirs, key = secrets_pair()
    incoming = listener.prepare(theirs if encrypted else None, 4, ours.migration_id, disks=[(str(destination), 8 * MB)])
    assert destination.exists() and os.path.getsize(destination) == 8 * MB      # made at prepare time
    with VMotionProxy(listener.address, tamper) as tap:
        outgoing = OutgoingMigration(memory, tap.address, ours if encrypted else None, migration_id=ours.migration_id,
                                     disks=[str(source)])
        try:
            return outgoing.run(), incoming, source, destination, tap, key
        except Fault as fault:
            with pytest.raises(Fault):
                incoming.wait(5)
            return fault, incoming, source, destination, tap, key
        finally:
            memory.close()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "encrypted"])
def test_a_disk_crosses_after_round_0_and_only_a_plaintext_tap_sees_it(listener: VMotionListener, tmp_path: Path,
                                                                        encrypted: bool) -> None:
    result, incoming, source, destination, tap, key = migrate_with_disk(listener, tmp_path, encrypted)
    incoming.wait(5)
    assert disk_digest(destination) == disk_digest(source)
    assert runs_of(destination) == [(0, 1), (40, 1), (127, 1)]
    assert result.disk_bytes == incoming.disk_bytes_received == 3 * DISK_BLOCK        # holes never cross
    kinds = [decode_header(frame[:40]).kind for frame in tap.frames]
    assert kinds.index(FrameKind.DISK) > kinds.index(FrameKind.SYNC)                   # after pre-copy started
    assert all(decode_header(f[:40]).sealed is encrypted for f in tap.frames if decode_header(f[:40]).kind is FrameKind.DISK)
    seen = bytes(tap.captured).count(MARKER)
    entries = [RUN.pack(block, 1, 0) for block in (40, 127)]          # run table entries: blocks 40 and 127 of disk 0
    mapped = sum(entry in bytes(tap.captured) for entry in entries)
    if encrypted:
        assert seen == 0 and key not in tap.captured
        assert mapped == 0                                              # the block map is sealed with the blocks
    else:
        assert seen == 3 and mapped == 2


def test_a_cut_mid_disk_leaves_no_destination_file_and_the_source_intact(listener: VMotionListener, tmp_path: Path) -> None:
    fault, _, source, destination, _, _ = migrate_with_disk(listener, tmp_path, True, Tamper("cut", FrameKind.DISK, nth=0))
    assert isinstance(fault, Fault)
    assert not destination.exists() and not destination.parent.exists()
    assert runs_of(source) == [(0, 1), (40, 1), (127, 1)]


def test_a_disk_altered_in_flight_fails_its_digest_at_the_checkpoint(listener: VMotionListener, tmp_path: Path) -> None:
    tamper = Tamper("flip_payload", FrameKind.DISK, nth=0)
    fault, incoming, _, destination, _, _ = migrate_with_disk(listener, tmp_path, False, tamper)
    assert isinstance(fault, MigrationFault) and "(disk_digest_mismatch)" in fault.message
    assert incoming.fault is not None and incoming.fault.arguments["reason"] == "disk_digest_mismatch"
    assert not destination.exists()

"""The vSAN encryption layer on its own: blocks in place, holes and zeros, keys it refuses, a wiped
key, and disk copies through it (row D4)."""

from __future__ import annotations

import os

import pytest

from linkedmode.host.servicer import destination_disks, source_disks
from linkedmode.model.faults import InvalidArgument
from linkedmode.v1 import host_agent_pb2 as pb
from linkedmode.vmotion.disks import DiskReader, copy_disk, create_disk, disk_digest
from linkedmode.vmotion.frames import DISK_BLOCK
from linkedmode.vmotion.vsan import VsanEncryption, VsanKeyWiped, vsan_layer

MB = 1 << 20


def layer() -> VsanEncryption:
    return VsanEncryption(os.urandom(64))


def test_blocks_round_trip_each_under_its_own_tweak_and_zeros_stay_zeros():
    vsan = layer()
    data = bytearray(os.urandom(DISK_BLOCK) * 2 + bytes(DISK_BLOCK))
    original = bytes(data)
    vsan.encrypt(7, data)
    assert data[:DISK_BLOCK] != original[:DISK_BLOCK] and data[DISK_BLOCK:2 * DISK_BLOCK] != data[:DISK_BLOCK]
    assert data[2 * DISK_BLOCK:] == bytes(DISK_BLOCK)
    vsan.decrypt(7, data)
    assert bytes(data) == original
    moved = bytearray(original)
    vsan.encrypt(8, moved)
    vsan.decrypt(7, moved)
    assert bytes(moved) != original                # a block read at another place does not open


def test_keys_it_refuses_and_a_wiped_key():
    with pytest.raises(ValueError, match=r"a vSAN datastore key is 64 bytes \(AES-256-XTS\), got 32"):
        VsanEncryption(os.urandom(32))
    with pytest.raises(ValueError, match="all zeros"):
        VsanEncryption(bytes(64))
    vsan = layer()
    vsan.wipe()
    assert vsan.wiped and repr(vsan) == "VsanEncryption(wiped)"
    with pytest.raises(VsanKeyWiped):
        vsan.decrypt(0, bytearray(DISK_BLOCK))
    assert vsan_layer("k", b"") is None
    with pytest.raises(InvalidArgument) as error:
        vsan_layer("spec.disk_moves[0].source_key", b"short")
    assert error.value.message == "spec.disk_moves[0].source_key: a vSAN datastore key is 64 bytes (AES-256-XTS), got 5"


def test_a_host_refuses_a_spec_whose_vsan_key_is_not_a_key():
    spec = pb.MigrationSpec(disk_moves=[pb.DiskMove(label="Hard disk 1", capacity_mb=8, source_path="/ds/vm/a.vmdk",
                                                    destination_path="/ds2/vm/a.vmdk", source_key=b"x" * 10)])
    with pytest.raises(InvalidArgument) as error:
        source_disks(spec)
    assert error.value.message == "spec.disk_moves[0].source_key: a vSAN datastore key is 64 bytes (AES-256-XTS), got 10"
    assert destination_disks(spec)[0].vsan is None            # the destination's key is not the source's
    spec.disk_moves[0].destination_key = os.urandom(64)
    assert destination_disks(spec)[0].vsan is not None


def test_a_copy_through_vsan_layers_keeps_the_guest_disk_and_its_holes(tmp_path):
    plain, encrypted, back = tmp_path / "plain.vmdk", tmp_path / "enc" / "d.vmdk", tmp_path / "back" / "d.vmdk"
    create_disk(plain, 16 * MB, written_blocks=3)
    vsan = layer()
    copy_disk(plain, encrypted, destination_vsan=vsan)
    assert disk_digest(encrypted, vsan) == disk_digest(plain) != disk_digest(encrypted)
    with DiskReader(encrypted) as disk:
        assert sum(count for _, count in disk.runs()) == 3                  # holes stay holes
    copy_disk(encrypted, back, source_vsan=vsan)
    assert back.read_bytes() == plain.read_bytes()

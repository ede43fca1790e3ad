"""The built-in default topology: its domains, versions, VMs, and the text `up` writes out."""

from __future__ import annotations

import re

import pytest
import yaml

from linkedmode.model.settings import MigrateEncryption, PowerState
from linkedmode.model.versions import Version, encrypted_vmotion_supported
from linkedmode.topology import (
    HostTimeouts,
    Topology,
    VCenterTimeouts,
    default_topology,
    default_topology_text,
    load_topology,
    parse_topology,
)
from linkedmode.topology.fields import spec_keys


@pytest.fixture(scope="module")
def default() -> Topology:
    return default_topology()


def vcenter(topology: Topology, name: str):
    return next(vc for _, vc in topology.vcenters() if vc.name == name)


def vm(topology: Topology, name: str):
    return next(v for _, vc in topology.vcenters() for v in vc.vms() if v.name == name)


def test_default_has_a_linked_domain_and_an_unlinked_one(default):
    assert [d.name for d in default.sso_domains] == ["vsphere.local", "corp.local"]
    assert [vc.name for vc in default.domain("vsphere.local").vcenters] == ["vc-a", "vc-b", "vc-legacy"]
    assert [vc.name for vc in default.domain("corp.local").vcenters] == ["vc-corp"]
    for domain in default.sso_domains:
        assert {(u.name, u.role) for u in domain.users} == {("administrator", "admin"), ("auditor", "read-only")}


def test_default_versions(default):
    assert {vc.name: str(vc.version) for _, vc in default.vcenters()} == {
        "vc-a": "7.0.3", "vc-b": "7.0.3", "vc-legacy": "6.7.0", "vc-corp": "7.0.3"}
    hosts = {h.name: str(h.version) for _, vc in default.vcenters() for h in vc.hosts()}
    assert hosts == {"esx-a1": "7.0.3", "esx-a2": "6.7.0", "esx-b1": "7.0.3", "esx-b2": "6.7.0",
                     "esx-b3": "7.0.3", "esx-l1": "6.7.0", "esx-l2": "6.0.0", "esx-c1": "7.0.3"}
    # one host that cannot encrypt for each reason (row E4): no AES-NI under vc-b, ESXi 6.0 under the 6.7 vc-legacy (row X8)
    cannot = {h.name: h for _, vc in default.vcenters() for h in vc.hosts() if not encrypted_vmotion_supported(h.version, h.aes_ni)}
    assert set(cannot) == {"esx-b3", "esx-l2"}
    assert not cannot["esx-b3"].aes_ni and cannot["esx-l2"].version < Version(6, 5)
    assert [h.name for h in vcenter(default, "vc-legacy").hosts()] == ["esx-l1", "esx-l2"]
    assert vcenter(default, "vc-legacy").key_providers == ()   # no Native Key Provider before 7.0 U2 (row K3)


def test_default_vc_a_has_a_vm_per_mode_an_encrypted_vm_and_a_powered_off_vm(default):
    vms = {v.name: v for v in vcenter(default, "vc-a").vms()}
    assert vms["app-disabled"].migrate_encryption is MigrateEncryption.DISABLED
    assert vms["app-opportunistic"].migrate_encryption is MigrateEncryption.OPPORTUNISTIC
    assert vms["app-required"].migrate_encryption is MigrateEncryption.REQUIRED
    encrypted = [v for _, vc in default.vcenters() for v in vc.vms() if v.encrypted]
    assert [v.name for v in encrypted] == ["db-encrypted", "db-nkp"]
    for db in encrypted:
        assert db.migrate_encryption is MigrateEncryption.REQUIRED
        assert all(d.encrypted for d in db.disks)
    # one key both vc-a and vc-b can get (a shared KMS), one only vc-a can (its Native Key Provider)
    assert [db.key_provider for db in encrypted] == ["kms-shared", "nkp-vc-a"]
    assert "kms-shared" in vcenter(default, "vc-b").key_providers and "nkp-vc-a" not in vcenter(default, "vc-b").key_providers
    assert vms["batch-off"].power_state is PowerState.POWERED_OFF
    assert vms["batch-off"].migrate_encryption is MigrateEncryption.OPPORTUNISTIC
    assert all(128 <= v.memory_mb <= 256 for v in vms.values())
    assert vcenter(default, "vc-b").vms() and vcenter(default, "vc-legacy").vms() and vcenter(default, "vc-corp").vms()


def test_default_datastores_and_guests(default):
    datastores = {d.name: d for d in vcenter(default, "vc-a").datacenters[0].datastores}
    assert {d.type for d in datastores.values()} == {"shared", "local", "vsan"}
    assert [d.name for d in datastores.values() if d.encrypted] == ["ds-a-vsan-encrypted"]
    for _, vc in default.vcenters():
        for v in vc.vms():
            assert 0 <= v.guest.dirty_rate_mbps <= 20
            assert v.guest.working_set_mb <= v.memory_mb
    macs = [n.mac_address for _, vc in default.vcenters() for v in vc.vms() for n in v.nics if n.mac_address]
    assert macs == ["00:50:56:3a:00:01"]


def test_default_text_is_the_default_topology(default, tmp_path):
    text = default_topology_text()
    assert text.startswith("#")
    assert parse_topology(yaml.safe_load(text), default.source) == default
    path = tmp_path / "copy.yaml"
    path.write_text(text)
    copied = load_topology(path)
    assert copied.source == str(path)
    assert copied.sso_domains == default.sso_domains




def test_the_default_topology_documents_every_timeout_with_its_default():
    """The commented-out `timeouts:` blocks of the default topology, uncommented, read as the defaults."""
    text = default_topology_text()
    uncommented = re.sub(r"^(\s*)# (timeouts:|  \w+: [\d.]+ .*)$", r"\1\2", text, flags=re.MULTILINE)
    assert len(re.findall(r"^\s*timeouts:$", uncommented, flags=re.MULTILINE)) == 2
    topology = parse_topology(yaml.safe_load(uncommented), "uncommented")
    vc_a = vcenter(topology, "vc-a")
    assert vc_a.timeouts == VCenterTimeouts() and vc_a.hosts()[0].timeouts == HostTimeouts()
    for name in [*spec_keys(VCenterTimeouts), *spec_keys(HostTimeouts)]:
        assert re.search(rf"^\s*#   {name}: ", text, flags=re.MULTILINE), f"{name} is not documented"

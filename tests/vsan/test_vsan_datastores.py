"""vSAN datastores (row D4): their type and encryption in the public API, their files at rest, the
independence of vSAN encryption from VM encryption, and the topology's rules for them."""

from __future__ import annotations

import pytest
import yaml
from estate_helpers import client_of
from vsan_estate import TOPOLOGY, at_rest, crypto, guest_digest, guest_view, guest_write_marker, vm_of, vsan_estate

from linkedmode.model.settings import MigrateEncryption
from linkedmode.topology import parse_topology
from linkedmode.topology.fields import TopologyError
from linkedmode.v1 import common_pb2, inventory_pb2


@pytest.fixture(scope="module")
def estate():
    with vsan_estate() as running:
        yield running


def test_the_api_shows_each_datastore_type_and_its_vsan_encryption(estate):
    shown = {d.name: d for d in client_of(estate, "vc-a").api.ListDatastores(inventory_pb2.ListRequest()).datastores}
    assert {n: (d.type, d.encrypted) for n, d in shown.items()} == {
        "ds-a-plain": ("shared", False), "ds-a-vsan": ("vsan", False), "ds-a-vsan-enc": ("vsan", True)}
    assert shown["ds-a-vsan-enc"].key_provider == "kms-shared" and shown["ds-a-vsan-enc"].key_id
    assert (shown["ds-a-vsan"].key_provider, shown["ds-a-vsan"].key_id) == ("", "")
    other = client_of(estate, "vc-b").api.GetDatastore(common_pb2.ObjectRef(name="ds-b-vsan-enc"))
    assert (other.type, other.encrypted, other.key_provider) == ("vsan", True, "nkp-vc-b")


def test_a_marker_is_ciphertext_on_an_encrypted_vsan_datastore_and_plain_on_another(estate):
    marker = guest_write_marker(estate, "vc-a", "hot-plain")          # on ds-a-vsan-enc
    assert marker not in at_rest(estate, "vc-a", "hot-plain")
    assert marker in guest_view(estate, "vc-a", "hot-plain")
    marker = guest_write_marker(estate, "vc-a", "hot-vsan")           # on ds-a-vsan, without encryption
    assert marker in at_rest(estate, "vc-a", "hot-vsan")


def test_a_plain_vm_on_an_encrypted_vsan_datastore_is_not_an_encrypted_vm(estate):
    vm = vm_of(estate, "vc-a", "hot-plain")
    assert (vm.encrypted, vm.key_provider, vm.migrate_encryption) == (False, "", MigrateEncryption.OPPORTUNISTIC)
    shown = client_of(estate, "vc-a").api.GetVm(common_pb2.ObjectRef(name="hot-plain"))
    assert not shown.crypto.encrypted and not any(d.encrypted for d in shown.disks)
    assert shown.migrate_encryption == common_pb2.MIGRATE_ENCRYPTION_OPPORTUNISTIC


def test_vm_encryption_on_an_encrypted_vsan_datastore_is_a_second_layer_inside_the_first(estate):
    marker = guest_write_marker(estate, "vc-a", "cold")
    before = guest_digest(estate, "vc-a", "cold")
    task = crypto(estate, "vc-a", "cold", encrypt="kms-shared")
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    vm = vm_of(estate, "vc-a", "cold")
    assert vm.encrypted and vm.migrate_encryption == MigrateEncryption.REQUIRED
    assert marker not in at_rest(estate, "vc-a", "cold")
    assert marker not in guest_view(estate, "vc-a", "cold")            # the vSAN layer off: the VM's layer is still on
    assert guest_digest(estate, "vc-a", "cold") != before

    task = crypto(estate, "vc-a", "cold", decrypt=True)
    assert task.state == common_pb2.TASK_STATE_SUCCESS, task.error
    assert marker in guest_view(estate, "vc-a", "cold") and marker not in at_rest(estate, "vc-a", "cold")
    assert guest_digest(estate, "vc-a", "cold") == before
    vm = vm_of(estate, "vc-a", "cold")
    assert not vm.encrypted and vm.migrate_encryption == MigrateEncryption.REQUIRED     # stays required until changed


def topology_with(datastore: dict, key_providers: list[str] | None, version: str = "7.0.3") -> dict:
    data = yaml.safe_load(TOPOLOGY)
    vc = data["sso_domains"][0]["vcenters"][0]
    vc["version"] = version
    for host in vc["datacenters"][0]["clusters"][0]["hosts"]:
        host["version"] = version
    if key_providers is None:
        del vc["key_providers"]
    else:
        vc["key_providers"] = key_providers
    vc["datacenters"][0]["datastores"] = [datastore]
    vc["datacenters"][0]["vms"] = []
    return data


DS = "sso_domains[0].vcenters[0].datacenters[0].datastores[0]"


@pytest.mark.parametrize(("datastore", "providers", "version", "field", "problem"), [
    ({"name": "ds", "type": "vsan", "encrypted": True}, None, "6.7.0", "encrypted",
     "vSAN encryption needs a key provider, and vCenter vc-a has none (give it key_providers)"),
    ({"name": "ds", "type": "vsan", "encrypted": True}, [], "7.0.3", "encrypted",
     "vSAN encryption needs a key provider, and vCenter vc-a has none (give it key_providers)"),
    ({"name": "ds", "type": "vsan", "encrypted": True, "key_provider": "kms-other"}, ["kms-shared"], "7.0.3", "key_provider",
     "'kms-other' is not a key provider of this vCenter (it has kms-shared)"),
    ({"name": "ds", "type": "vsan", "key_provider": "kms-shared"}, ["kms-shared"], "7.0.3", "key_provider",
     "only an encrypted vsan datastore (encrypted: true) has a key provider"),
], ids=["no provider (6.7)", "no provider (empty list)", "unknown provider", "provider without encryption"])
def test_topology_errors_name_the_field(datastore, providers, version, field, problem):
    with pytest.raises(TopologyError) as error:
        parse_topology(topology_with(datastore, providers, version), "vsan.yaml")
    assert str(error.value) == f"vsan.yaml: {DS}.{field}: {problem}"


def test_an_encrypted_vsan_datastore_takes_the_first_key_provider_unless_it_names_one():
    spec = parse_topology(topology_with({"name": "ds", "type": "vsan", "encrypted": True}, ["kms-x", "nkp-vc-a"]), "t")
    assert spec.sso_domains[0].vcenters[0].datacenters[0].datastores[0].key_provider == "kms-x"
    named = {"name": "ds", "type": "vsan", "encrypted": True, "key_provider": "nkp-vc-a"}
    spec = parse_topology(topology_with(named, ["kms-x", "nkp-vc-a"]), "t")
    assert spec.sso_domains[0].vcenters[0].datacenters[0].datastores[0].key_provider == "nkp-vc-a"
    plain = parse_topology(topology_with({"name": "ds", "type": "vsan"}, None, "6.7.0"), "t")
    assert plain.sso_domains[0].vcenters[0].datacenters[0].datastores[0].key_provider is None

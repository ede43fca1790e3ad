"""Reading topologies: every rule a topology file must keep, what is accepted, and files."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from linkedmode.model.fault_rules import FaultAction
from linkedmode.model.migration import MigrationStep
from linkedmode.model.settings import MigrateEncryption
from linkedmode.model.versions import Version
from linkedmode.topology import (
    GuestSpec,
    HostSpec,
    HostTimeouts,
    NetworkSpec,
    TopologyError,
    VCenterSpec,
    VCenterTimeouts,
    VmSpec,
    load_topology,
    parse_topology,
)

# --- a minimal valid document and ways to break it ------------------------------------------------

def minimal() -> dict:
    return {"sso_domains": [{
        "name": "vsphere.local",
        "users": [{"name": "administrator", "role": "admin"}],
        "vcenters": [{
            "name": "vc-a", "version": "7.0.3", "address": "127.0.0.1:0",
            "datacenters": [{
                "name": "dc-a",
                "clusters": [{"name": "cluster-a", "hosts": [
                    {"name": "esx-a1", "version": "7.0.3", "vmotion": {"address": "127.0.0.1:0", "bandwidth": "10GbE"}},
                    {"name": "esx-a2", "version": "6.7.0"},
                ]}],
                "datastores": [
                    {"name": "ds-shared", "type": "shared"},
                    {"name": "ds-a1-local", "type": "local", "hosts": ["esx-a1"]},
                    {"name": "ds-vsan", "type": "vsan"},
                ],
                "networks": [{"name": "VM Network"}],
                "vms": [{
                    "name": "vm-1", "host": "esx-a1", "memory_mb": 256,
                    "disks": [{"datastore": "ds-a1-local", "capacity_mb": 1024}],
                    "nics": [{"network": "VM Network"}],
                    "guest": {"dirty_rate_mbps": 10, "working_set_mb": 64},
                }],
            }],
        }],
    }]}


DOMAIN = "sso_domains[0]"
VC = f"{DOMAIN}.vcenters[0]"
DC = f"{VC}.datacenters[0]"
HOST = f"{DC}.clusters[0].hosts[0]"
DS = f"{DC}.datastores"
VM = f"{DC}.vms[0]"
DELETE = object()

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [key if key else int(index) for key, index in _STEP.findall(path)]


def changed(*changes: tuple[str, object]) -> dict:
    """The minimal document with the value at each field path replaced (or deleted)."""
    data = minimal()
    for path, value in changes:
        *parents, last = _steps(path)
        target = data
        for step in parents:
            target = target[step]
        if value is DELETE:
            del target[last]
        else:
            target[last] = copy.deepcopy(value)
    return data


def appended(path: str, item: object, data: dict | None = None) -> dict:
    """The minimal document (or data) with item added to the list at path."""
    data = data if data is not None else minimal()
    target = data
    for step in _steps(path):
        target = target[step]
    target.append(copy.deepcopy(item))
    return data


def second_vcenter(**overrides: object) -> dict:
    vc = copy.deepcopy(minimal()["sso_domains"][0]["vcenters"][0])
    vc.update(name="vc-b")
    dc = vc["datacenters"][0]
    dc["clusters"][0]["hosts"] = [{"name": "esx-b1", "version": "7.0.3"}]
    dc["datastores"] = [{"name": "ds-shared"}]
    dc["vms"][0].update(host="esx-b1", disks=[{"datastore": "ds-shared", "capacity_mb": 1}])
    vc.update(overrides)
    return vc


def same_mac_in_two_vcenters(mac: str) -> dict:
    other = second_vcenter()
    other["datacenters"][0]["vms"][0]["nics"][0]["mac_address"] = mac
    return appended(f"{DOMAIN}.vcenters", other, changed((f"{VM}.nics[0].mac_address", mac)))


def test_the_same_mac_may_stand_in_two_vcenters():
    """Row X4: MACs are unique per vCenter; a move between vCenters is where a clash is caught."""
    topology = parse_topology(same_mac_in_two_vcenters("00:50:56:00:00:01"), "t")
    macs = [n.mac_address for _, vc in topology.vcenters() for vm in vc.vms() for n in vm.nics]
    assert macs.count("00:50:56:00:00:01") == 2


def error_of(data: object) -> TopologyError:
    with pytest.raises(TopologyError) as caught:
        parse_topology(data, "topology.yaml")
    return caught.value


def test_the_minimal_document_is_valid():
    topology = parse_topology(minimal(), "topology.yaml")
    assert topology.source == "topology.yaml"
    assert topology.vcenters()[0][1].vms()[0].host == "esx-a1"


BROKEN = [
    # versions
    ("vcenter version", changed((f"{VC}.version", "7.x")), f"{VC}.version", "is not a version"),
    ("host version", changed((f"{HOST}.version", "seven")), f"{HOST}.version", "is not a version"),
    ("version type", changed((f"{HOST}.version", [7])), f"{HOST}.version", "expected a version"),
    ("version missing", changed((f"{VC}.version", DELETE)), f"{VC}.version", "required"),
    # row X8: a vCenter manages only the ESXi releases it supports
    ("esxi 6.0 under vcenter 7.0", changed((f"{HOST}.version", "6.0.0")), f"{HOST}.version",
     "ESXi 6.0.0 cannot be managed by vCenter vc-a (7.0.3), which manages ESXi 6.5 to 7.0"),
    ("esxi newer than its vcenter", changed((f"{HOST}.version", "8.0")), f"{HOST}.version",
     "ESXi 8.0.0 cannot be managed by vCenter vc-a (7.0.3), which manages ESXi 6.5 to 7.0"),
    ("esxi 7.0 under vcenter 6.7", changed((f"{VC}.version", "6.7.0"), (f"{VC}.key_providers", []),
                                            (f"{DC}.clusters[0].hosts[1].version", "6.0")),
     f"{HOST}.version", "ESXi 7.0.3 cannot be managed by vCenter vc-a (6.7.0), which manages ESXi 6.0 to 6.7"),
    ("esxi 5.5 under vcenter 6.7", changed((f"{VC}.version", "6.7.0"), (f"{VC}.key_providers", []),
                                            (f"{HOST}.version", "5.5"), (f"{DC}.clusters[0].hosts[1].version", "6.0")),
     f"{HOST}.version", "ESXi 5.5.0 cannot be managed by vCenter vc-a (6.7.0), which manages ESXi 6.0 to 6.7"),
    # row K3: the Native Key Provider needs vCenter 7.0 U2
    ("native key provider on 7.0.1", changed((f"{VC}.version", "7.0.1"), (f"{VC}.key_providers", ["kms", "native-key-provider"])),
     f"{VC}.key_providers[1]", "'native-key-provider' is a Native Key Provider, which needs vCenter 7.0.2 (7.0 U2) or later; "
                               "this vCenter runs 7.0.1"),
    ("named native key provider on 6.7",
     changed((f"{VC}.version", "6.7.0"), (f"{VC}.key_providers", ["nkp-vc-a"]), (f"{HOST}.version", "6.7"),
             (f"{DC}.clusters[0].hosts[1].version", "6.0")),
     f"{VC}.key_providers[0]", "'nkp-vc-a' is a Native Key Provider, which needs vCenter 7.0.2 (7.0 U2) or later"),
    ("encrypted vm on a vcenter without a key provider",
     changed((f"{VC}.version", "7.0.1"), (f"{VM}.encrypted", True)), f"{VM}.key_provider",
     "'native-key-provider' is not a key provider of this vCenter (it has none)"),
    # row V10: CPUs and EVC modes
    ("host cpu unknown", changed((f"{HOST}.cpu", "intel-pentium")), f"{HOST}.cpu",
     "'intel-pentium' is not an EVC mode (intel-merom .. intel-sapphirerapids, amd-rev-e .. amd-zen4)"),
    ("host cpu not text", changed((f"{HOST}.cpu", 9)), f"{HOST}.cpu", "expected a non-empty string, got 9 (an integer)"),
    ("evc mode unknown", changed((f"{DC}.clusters[0].evc_mode", "zen")), f"{DC}.clusters[0].evc_mode", "'zen' is not an EVC mode"),
    ("evc mode above a host's cpu", changed((f"{DC}.clusters[0].evc_mode", "intel-icelake")), f"{DC}.clusters[0].evc_mode",
     "host esx-a1 (intel-skylake) cannot run EVC mode intel-icelake: intel-skylake is older than intel-icelake"),
    ("evc mode of another vendor", changed((f"{DC}.clusters[0].evc_mode", "intel-haswell"), (f"{HOST}.cpu", "amd-zen2")),
     f"{DC}.clusters[0].evc_mode",
     "host esx-a1 (amd-zen2) cannot run EVC mode intel-haswell: an AMD CPU cannot run a VM started on an Intel CPU"),
    # row V12: networks
    ("network type", changed((f"{DC}.networks[0].type", "vlan")), f"{DC}.networks[0].type",
     "'vlan' is not one of standard, distributed"),
    ("distributed network without a switch", changed((f"{DC}.networks[0].type", "distributed")), f"{DC}.networks[0].switch",
     "required but missing"),
    ("standard switch with a version", changed((f"{DC}.networks[0].switch_version", "7.0")), f"{DC}.networks[0].switch_version",
     "only a distributed switch has a version; this network is on a standard switch"),
    ("distributed switch newer than its vcenter",
     changed((f"{DC}.networks[0]", {"name": "VM Network", "type": "distributed", "switch": "dvs", "switch_version": "8.0"})),
     f"{DC}.networks[0].switch_version", "a distributed switch of version 8.0.0 needs vCenter 8.0.0 or later; this vCenter runs 7.0.3"),
    ("uplinks negative", changed((f"{DC}.networks[0].uplinks", -1)), f"{DC}.networks[0].uplinks", "expected an integer >= 0, got -1"),
    # unique names
    ("sso domain twice", appended("sso_domains", {"name": "vsphere.local"}), "sso_domains[1].name", "duplicate SSO domain name"),
    ("vcenter twice across domains",
     appended("sso_domains", {"name": "corp.local", "vcenters": [second_vcenter(name="vc-a")]}),
     "sso_domains[1].vcenters[0].name", "duplicate vCenter name 'vc-a' (first at sso_domains[0].vcenters[0].name)"),
    ("host twice across vcenters",
     appended(f"{DOMAIN}.vcenters", second_vcenter(datacenters=[{"name": "dc-b", "clusters": [
         {"name": "c", "hosts": [{"name": "esx-a2", "version": "7.0.3"}]}]}])),
     f"{DOMAIN}.vcenters[1].datacenters[0].clusters[0].hosts[0].name", "duplicate host name 'esx-a2'"),
    ("datacenter twice", appended(f"{VC}.datacenters", {"name": "dc-a"}), f"{VC}.datacenters[1].name", "duplicate datacenter name"),
    ("cluster twice in a vcenter", appended(f"{VC}.datacenters", {"name": "dc-2", "clusters": [{"name": "cluster-a"}]}),
     f"{VC}.datacenters[1].clusters[0].name", "duplicate cluster name"),
    ("datastore twice in a vcenter", appended(f"{VC}.datacenters", {"name": "dc-2", "datastores": [{"name": "ds-vsan"}]}),
     f"{VC}.datacenters[1].datastores[0].name", "duplicate datastore name"),
    ("network twice", appended(f"{DC}.networks", {"name": "VM Network"}), f"{DC}.networks[1].name", "duplicate network name"),
    ("vm twice in a vcenter", appended(f"{VC}.datacenters", {"name": "dc-2", "clusters": [{"name": "c2", "hosts": [
        {"name": "esx-x", "version": "7.0"}]}], "vms": [{"name": "vm-1", "host": "esx-x"}]}),
     f"{VC}.datacenters[1].vms[0].name", "duplicate VM name"),
    ("user twice", appended(f"{DOMAIN}.users", {"name": "administrator"}), f"{DOMAIN}.users[1].name", "duplicate user name"),
    # a VM's host
    ("vm host unknown", changed((f"{VM}.host", "esx-nope")), f"{VM}.host", "'esx-nope' is not a host of datacenter 'dc-a'"),
    ("vm host in another datacenter",
     appended(f"{VC}.datacenters", {"name": "dc-2", "vms": [{"name": "vm-2", "host": "esx-a1"}]}),
     f"{VC}.datacenters[1].vms[0].host", "is not a host of datacenter 'dc-2'"),
    ("vm host missing", changed((f"{VM}.host", DELETE)), f"{VM}.host", "required but missing"),
    # disks and datastores
    ("disk datastore unknown", changed((f"{VM}.disks[0].datastore", "ds-nope")), f"{VM}.disks[0].datastore",
     "no datastore 'ds-nope' in datacenter 'dc-a'"),
    ("disk datastore not mounted by the host", changed((f"{VM}.host", "esx-a2")), f"{VM}.disks[0].datastore",
     "not mounted by the VM's host 'esx-a2'"),
    ("local datastore with no host", changed((f"{DS}[1].hosts", DELETE)), f"{DS}[1].hosts", "exactly one host, got 0"),
    ("local datastore with two hosts", changed((f"{DS}[1].hosts", ["esx-a1", "esx-a2"])), f"{DS}[1].hosts", "exactly one host, got 2"),
    ("datastore host unknown", changed((f"{DS}[0].hosts", ["esx-a1", "esx-z"])), f"{DS}[0].hosts[1]",
     "'esx-z' is not a host of datacenter 'dc-a'"),
    ("datastore host twice", changed((f"{DS}[0].hosts", ["esx-a1", "esx-a1"])), f"{DS}[0].hosts[1]", "listed twice"),
    ("datastore host not a string", changed((f"{DS}[0].hosts", [3])), f"{DS}[0].hosts[0]", "expected a host name, got 3 (an integer)"),
    ("datastore type", changed((f"{DS}[0].type", "nfs")), f"{DS}[0].type", "'nfs' is not one of local, shared, vsan"),
    ("encrypted shared datastore", changed((f"{DS}[0].encrypted", True)), f"{DS}[0].encrypted",
     "only a vsan datastore can be encrypted, and this one is shared"),
    ("datastore capacity", changed((f"{DS}[0].capacity_mb", 0)), f"{DS}[0].capacity_mb", "expected a positive integer, got 0"),
    # nics
    ("nic network unknown", changed((f"{VM}.nics[0].network", "Prod")), f"{VM}.nics[0].network", "no network 'Prod' in datacenter 'dc-a'"),
    ("mac format", changed((f"{VM}.nics[0].mac_address", "00:50:56:3a:00")), f"{VM}.nics[0].mac_address", "is not a MAC address"),
    ("mac dashes", changed((f"{VM}.nics[0].mac_address", "00-50-56-3a-00-01")), f"{VM}.nics[0].mac_address", "is not a MAC address"),
    ("mac read as a number", changed((f"{VM}.nics[0].mac_address", 1234)), f"{VM}.nics[0].mac_address", "quote it"),
    ("mac twice (case aside)",
     changed((f"{VM}.nics", [{"network": "VM Network", "mac_address": "00:50:56:AA:00:01"},
                             {"network": "VM Network", "mac_address": "00:50:56:aa:00:01"}])),
     f"{VM}.nics[1].mac_address", "duplicate MAC address '00:50:56:aa:00:01'"),
    # numbers
    ("memory zero", changed((f"{VM}.memory_mb", 0)), f"{VM}.memory_mb", "expected a positive integer, got 0 (an integer)"),
    ("memory negative", changed((f"{VM}.memory_mb", -1)), f"{VM}.memory_mb", "expected a positive integer"),
    ("memory text", changed((f"{VM}.memory_mb", "256")), f"{VM}.memory_mb", "expected a positive integer, got '256' (a string)"),
    ("memory boolean", changed((f"{VM}.memory_mb", True)), f"{VM}.memory_mb", "got true (a boolean)"),
    ("memory fraction", changed((f"{VM}.memory_mb", 1.5)), f"{VM}.memory_mb", "got 1.5 (a number)"),
    ("num_cpu zero", changed((f"{VM}.num_cpu", 0)), f"{VM}.num_cpu", "expected a positive integer"),
    ("disk capacity", changed((f"{VM}.disks[0].capacity_mb", -5)), f"{VM}.disks[0].capacity_mb", "expected a positive integer"),
    ("disk capacity missing", changed((f"{VM}.disks[0].capacity_mb", DELETE)), f"{VM}.disks[0].capacity_mb", "required"),
    ("host memory", changed((f"{HOST}.memory_mb", 0)), f"{HOST}.memory_mb", "expected a positive integer"),
    ("dirty rate negative", changed((f"{VM}.guest.dirty_rate_mbps", -0.5)), f"{VM}.guest.dirty_rate_mbps", "expected a number >= 0"),
    ("dirty rate nan", changed((f"{VM}.guest.dirty_rate_mbps", float("nan"))), f"{VM}.guest.dirty_rate_mbps", "expected a number >= 0"),
    ("dirty rate text", changed((f"{VM}.guest.dirty_rate_mbps", "fast")), f"{VM}.guest.dirty_rate_mbps", "got 'fast' (a string)"),
    ("working set negative", changed((f"{VM}.guest.working_set_mb", -1)), f"{VM}.guest.working_set_mb", "expected an integer >= 0"),
    ("working set above memory", changed((f"{VM}.guest.working_set_mb", 257)), f"{VM}.guest.working_set_mb",
     "257 MB is more than the VM's memory_mb (256)"),
    # settings
    ("migrate_encryption", changed((f"{VM}.migrate_encryption", "sometimes")), f"{VM}.migrate_encryption",
     "'sometimes' is not one of disabled, opportunistic, required"),
    ("power_state", changed((f"{VM}.power_state", "on")), f"{VM}.power_state", "'on' is not one of poweredOff, poweredOn, suspended"),
    ("encrypted vm not required", changed((f"{VM}.encrypted", True), (f"{VM}.migrate_encryption", "opportunistic")),
     f"{VM}.migrate_encryption", "an encrypted VM's migrate_encryption reads required and cannot be opportunistic"),
    ("key provider on a plain vm", changed((f"{VM}.key_provider", "kms")), f"{VM}.key_provider", "only an encrypted VM"),
    ("key provider the vcenter lacks", changed((f"{VM}.encrypted", True), (f"{VM}.key_provider", "kms")), f"{VM}.key_provider",
     "'kms' is not a key provider of this vCenter (it has native-key-provider)"),
    ("key provider twice", changed((f"{VC}.key_providers", ["kms", "kms"])), f"{VC}.key_providers[1]",
     "key provider 'kms' is listed twice"),
    ("key provider not a name", changed((f"{VC}.key_providers", [3])), f"{VC}.key_providers[0]", "expected a key provider name"),
    ("bandwidth", changed((f"{HOST}.vmotion.bandwidth", "2GbE")), f"{HOST}.vmotion.bandwidth", "'2GbE' is not one of 1GbE, 10GbE"),
    ("role", changed((f"{DOMAIN}.users[0].role", "root")), f"{DOMAIN}.users[0].role", "'root' is not one of admin, read-only"),
    ("no admin", changed((f"{DOMAIN}.users[0].role", "read-only")), f"{DOMAIN}.users", "at least one user must have role admin"),
    # addresses
    ("vcenter address without port", changed((f"{VC}.address", "localhost")), f"{VC}.address", "is not an address like"),
    ("vcenter address port too big", changed((f"{VC}.address", "127.0.0.1:65536")), f"{VC}.address", "port 0..65535"),
    ("vcenter address port not a number", changed((f"{VC}.address", "127.0.0.1:https")), f"{VC}.address", "is not an address"),
    ("vcenter address without host", changed((f"{VC}.address", ":8443")), f"{VC}.address", "is not an address"),
    ("host address", changed((f"{HOST}.address", "127.0.0.1:-1")), f"{HOST}.address", "is not an address"),
    ("vmotion address", changed((f"{HOST}.vmotion.address", 8000)), f"{HOST}.vmotion.address", "expected a non-empty string"),
    # booleans
    ("aes_ni quoted", changed((f"{HOST}.aes_ni", "true")), f"{HOST}.aes_ni", "expected a boolean (true or false), got 'true' (a string)"),
    ("aes_ni number", changed((f"{HOST}.aes_ni", 1)), f"{HOST}.aes_ni", "expected a boolean"),
    ("vm encrypted", changed((f"{VM}.encrypted", "yes")), f"{VM}.encrypted", "expected a boolean"),
    ("disk encrypted", changed((f"{VM}.disks[0].encrypted", 0)), f"{VM}.disks[0].encrypted", "expected a boolean"),
    # names that become certificate names
    ("host name with a space", changed((f"{HOST}.name", "esx a1")), f"{HOST}.name", "cannot name a host"),
    ("domain name with a slash", changed((f"{DOMAIN}.name", "vsphere/local")), f"{DOMAIN}.name", "cannot name an SSO domain"),
    # shape
    ("unknown key", changed((f"{VM}.memroy_mb", 1)), f"{VM}.memroy_mb",
     "unknown key; allowed: name, host, memory_mb, num_cpu, disks, nics, migrate_encryption"),
    ("unknown top key", {"sso_domain": []}, "sso_domain", "unknown key; allowed: sso_domains"),
    ("list given a mapping", changed((f"{DC}.vms", {"name": "vm-1"})), f"{DC}.vms", "expected a list, got a mapping"),
    ("entry not a mapping", changed((f"{DC}.networks", ["VM Network"])), f"{DC}.networks[0]",
     "expected a mapping, got 'VM Network' (a string)"),
    ("name not a string", changed((f"{DC}.name", 12)), f"{DC}.name", "expected a non-empty string, got 12 (an integer)"),
    ("name empty", changed((f"{DC}.networks[0].name", " ")), f"{DC}.networks[0].name", "expected a non-empty string"),
    ("no sso domains", {"sso_domains": []}, "sso_domains", "expected at least one SSO domain"),
    # timeouts
    ("vcenter timeout zero", changed((f"{VC}.timeouts", {"peer_call": 0})), f"{VC}.timeouts.peer_call",
     "expected a positive number of seconds, got 0 (an integer)"),
    ("vcenter timeout negative", changed((f"{VC}.timeouts", {"max_switchover": -1.5})), f"{VC}.timeouts.max_switchover",
     "expected a positive number of seconds, got -1.5 (a number)"),
    ("vcenter timeout text", changed((f"{VC}.timeouts", {"host_call": "10s"})), f"{VC}.timeouts.host_call",
     "expected a positive number of seconds, got '10s' (a string)"),
    ("vcenter timeout boolean", changed((f"{VC}.timeouts", {"host_call": True})), f"{VC}.timeouts.host_call",
     "expected a positive number of seconds, got true (a boolean)"),
    ("vcenter timeout infinite", changed((f"{VC}.timeouts", {"migration": float("inf")})), f"{VC}.timeouts.migration",
     "expected a positive number of seconds, got inf (a number)"),
    ("vcenter timeout unknown", changed((f"{VC}.timeouts", {"prepared_expiry": 5})), f"{VC}.timeouts.prepared_expiry",
     "unknown key; allowed: host_call, host_heartbeat"),
    ("vcenter perf interval zero", changed((f"{VC}.timeouts", {"perf_interval": 0})), f"{VC}.timeouts.perf_interval",
     "expected a positive number of seconds, got 0 (an integer)"),
    ("vcenter timeouts not a mapping", changed((f"{VC}.timeouts", [5])), f"{VC}.timeouts", "expected a mapping, got a list"),
    ("host timeout zero", changed((f"{HOST}.timeouts", {"prepared_expiry": 0})), f"{HOST}.timeouts.prepared_expiry",
     "expected a positive number of seconds, got 0 (an integer)"),
    ("host timeout nan", changed((f"{HOST}.timeouts", {"arrival_end": float("nan")})), f"{HOST}.timeouts.arrival_end",
     "expected a positive number of seconds, got nan (a number)"),
    ("host timeout unknown", changed((f"{HOST}.timeouts", {"peer_call": 5})), f"{HOST}.timeouts.peer_call",
     "unknown key; allowed: prepared_expiry, arrival_end"),
    ("host timeouts not a mapping", changed((f"{HOST}.timeouts", 120)), f"{HOST}.timeouts",
     "expected a mapping, got 120 (an integer)"),
    # fault rules
    ("fault rule step unknown", changed((f"{VC}.fault_rules", [{"step": "teleport"}])), f"{VC}.fault_rules[0].step",
     "step 'teleport' is not one of spec_exchange, key_push_destination, key_push_source, precopy_round, stun"),
    ("fault rule step missing", changed((f"{VC}.fault_rules", [{"action": "kill"}])), f"{VC}.fault_rules[0].step",
     "required but missing"),
    ("fault rule step not text", changed((f"{VC}.fault_rules", [{"step": 3}])), f"{VC}.fault_rules[0].step",
     "expected a non-empty string, got 3 (an integer)"),
    ("fault rule frame action off its step", changed((f"{VC}.fault_rules", [{"step": "stun", "action": "replay_frame"}])),
     f"{VC}.fault_rules[0].step", "replay_frame tampers with the page stream: its step is precopy_round"),
]

@pytest.mark.parametrize(("data", "path", "problem"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_document_names_the_field_and_the_problem(data, path, problem):
    error = error_of(data)
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"topology.yaml: {path}: "), message
    assert problem in message
    assert (error.source, error.path) == ("topology.yaml", path)


@pytest.mark.parametrize(("data", "problem"), [
    (None, "the document is empty"),
    ([1, 2], "expected a mapping, got a list"),
    ("sso_domains", "expected a mapping, got 'sso_domains' (a string)"),
])
def test_a_document_that_is_not_a_mapping(data, problem):
    assert str(error_of(data)).startswith(f"topology.yaml: {problem}")


# --- what is accepted, and the defaults -----------------------------------------------------------

def test_versions_given_as_numbers_are_read_as_text():
    topology = parse_topology(changed((f"{VC}.version", 7.0), (f"{HOST}.version", 6.7)), "t")
    vc = topology.vcenters()[0][1]
    assert vc.version == Version(7, 0, 0)
    assert vc.hosts()[0].version == Version(6, 7, 0)


def test_the_same_datacenter_and_vm_names_may_be_used_in_two_vcenters():
    data = appended(f"{DOMAIN}.vcenters", second_vcenter())
    names = [(vc.datacenters[0].name, vc.vms()[0].name) for _, vc in parse_topology(data, "t").vcenters()]
    assert names == [("dc-a", "vm-1"), ("dc-a", "vm-1")]


def test_a_datastore_without_hosts_is_mounted_by_every_host_of_its_datacenter():
    data = changed((f"{VM}.host", "esx-a2"), (f"{VM}.disks[0].datastore", "ds-shared"))
    assert parse_topology(data, "t").vcenters()[0][1].vms()[0].disks[0].datastore == "ds-shared"


def test_a_mac_address_is_normalised_to_lower_case():
    data = changed((f"{VM}.nics[0].mac_address", "00:50:56:AB:CD:EF"))
    assert parse_topology(data, "t").vcenters()[0][1].vms()[0].nics[0].mac_address == "00:50:56:ab:cd:ef"


def test_an_encrypted_vm_defaults_to_required_and_the_native_key_provider():
    vm_ = parse_topology(changed((f"{VM}.encrypted", True)), "t").vcenters()[0][1].vms()[0]
    assert (vm_.migrate_encryption, vm_.key_provider) == (MigrateEncryption.REQUIRED, "native-key-provider")
    explicit = changed((f"{VC}.key_providers", ["kmip-1"]), (f"{VM}.encrypted", True),
                       (f"{VM}.migrate_encryption", "required"), (f"{VM}.key_provider", "kmip-1"))
    assert parse_topology(explicit, "t").vcenters()[0][1].vms()[0].key_provider == "kmip-1"
    assert parse_topology(explicit, "t").vcenters()[0][1].key_providers == ("kmip-1",)


def test_an_encrypted_vsan_datastore_is_accepted():
    data = changed((f"{DS}[2].encrypted", True))
    assert parse_topology(data, "t").vcenters()[0][1].datacenters[0].datastores[2].encrypted


@pytest.mark.parametrize("users", [DELETE, [], None])
def test_a_domain_without_users_gets_administrator_and_auditor(users):
    domain = parse_topology(changed((f"{DOMAIN}.users", users)), "t").sso_domains[0]
    assert [(u.name, u.role) for u in domain.users] == [("administrator", "admin"), ("auditor", "read-only")]


def test_absent_fields_take_the_dataclass_defaults():
    data = {"sso_domains": [{"name": "d", "vcenters": [{"name": "vc", "version": "7.0.3", "datacenters": [{
        "name": "dc", "clusters": [{"name": "c", "hosts": [{"name": "h", "version": "7.0"}]}],
        "vms": [{"name": "v", "host": "h"}]}]}]}]}
    topology = parse_topology(data, "t")
    vc = topology.vcenters()[0][1]
    assert vc == VCenterSpec("vc", Version(7, 0, 3), datacenters=vc.datacenters)
    assert vc.hosts()[0] == HostSpec("h", Version(7, 0))
    assert vc.vms()[0] == VmSpec("v", "h", guest=GuestSpec())


def test_timeouts_given_in_part_are_read_and_the_rest_keep_their_defaults():
    data = changed((f"{VC}.timeouts", {"peer_call": 12, "switchover_goal": 0.25, "perf_interval": 0.5}),
                   (f"{HOST}.timeouts", {"prepared_expiry": 1.5}))
    vc = parse_topology(data, "t").vcenters()[0][1]
    assert vc.timeouts == VCenterTimeouts(peer_call=12.0, switchover_goal=0.25, perf_interval=0.5)
    assert VCenterTimeouts().perf_interval == 20.0       # vSphere's realtime interval
    assert isinstance(vc.timeouts.peer_call, float)
    esx_a1, esx_a2 = vc.hosts()
    assert esx_a1.timeouts == HostTimeouts(prepared_expiry=1.5)
    assert esx_a2.timeouts == HostTimeouts()


def test_an_empty_timeouts_mapping_keeps_every_default():
    vc = parse_topology(changed((f"{VC}.timeouts", {}), (f"{HOST}.timeouts", None)), "t").vcenters()[0][1]
    assert vc.timeouts == VCenterTimeouts() and vc.hosts()[0].timeouts == HostTimeouts()


def test_fault_rules_in_the_topology_name_their_step_and_action_in_words():
    data = changed((f"{VC}.fault_rules", [{"step": "precopy_round", "action": "corrupt_frame", "part": "esx-a1"},
                                          {"step": "commit"}]))
    rules = parse_topology(data, "t").vcenters()[0][1].fault_rules
    assert [(r.step, r.action, r.part) for r in rules] == [
        (MigrationStep.PRECOPY_ROUND, FaultAction.CORRUPT_FRAME, "esx-a1"), (MigrationStep.COMMIT, FaultAction.ERROR, "")]


# --- files ----------------------------------------------------------------------------------------

def test_a_yaml_syntax_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sso_domains:\n  - name: a\n    users: [\n  oops: here\n")
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    message = str(caught.value)
    assert "\n" not in message
    assert re.match(rf"{re.escape(str(path))}: line \d+, column \d+: invalid YAML: ", message), message


def test_a_key_given_twice_is_an_error(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("sso_domains:\n  - name: a\n    name: b\n")
    with pytest.raises(TopologyError, match=r"twice.yaml: line 3, column 5: invalid YAML: duplicate key 'name'$"):
        load_topology(path)


def test_a_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert str(caught.value) == f"{path}: no such file"


def test_a_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(TopologyError, match=r"list.yaml: expected a mapping, got a list$"):
        load_topology(str(path))


def test_a_validation_error_from_a_file_names_the_file(tmp_path):
    path = tmp_path / "topology.yaml"
    data = changed((f"{VM}.migrate_encryption", "sometimes"))
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert str(caught.value) == (f"{path}: {VM}.migrate_encryption: "
                                 "'sometimes' is not one of disabled, opportunistic, required")


def test_a_bad_fault_rule_in_the_topology_names_its_field():
    data = changed((f"{VC}.fault_rules", [{"step": "commit", "action": "explode"}]))
    error = error_of(data)
    assert str(error).startswith(f"topology.yaml: {VC}.fault_rules[0].action: action 'explode' is not one of error")


def test_each_vcenter_release_manages_its_esxi_releases():
    """Row X8, the accepted side: 7.0 takes ESXi 6.5 to 7.0, 6.7 takes ESXi 6.0 to 6.7."""
    seven = parse_topology(changed((f"{HOST}.version", "6.5"), (f"{DC}.clusters[0].hosts[1].version", "7.0.3")), "t")
    assert [str(h.version) for h in seven.vcenters()[0][1].hosts()] == ["6.5.0", "7.0.3"]
    legacy = parse_topology(changed((f"{VC}.version", "6.7.0"), (f"{VC}.key_providers", []),
                                    (f"{HOST}.version", "6.0.0"), (f"{DC}.clusters[0].hosts[1].version", "6.7.0")), "t")
    assert [str(h.version) for h in legacy.vcenters()[0][1].hosts()] == ["6.0.0", "6.7.0"]


def test_the_native_key_provider_comes_with_vcenter_7_0_u2():
    """Row K3: from 7.0.2 a vCenter has its Native Key Provider by default; before it, no key provider unless an
    external KMS is named."""
    assert parse_topology(changed((f"{VC}.version", "7.0.2")), "t").vcenters()[0][1].key_providers == ("native-key-provider",)
    assert parse_topology(changed((f"{VC}.version", "7.0.1")), "t").vcenters()[0][1].key_providers == ()
    with_kms = parse_topology(changed((f"{VC}.version", "7.0.0"), (f"{VC}.key_providers", ["kms-1"])), "t")
    assert with_kms.vcenters()[0][1].key_providers == ("kms-1",)


def test_cpus_and_evc_modes_are_read():
    """Row V10: a host's CPU defaults to intel-skylake; a cluster's EVC mode may be any baseline all its hosts have."""
    vc = parse_topology(changed((f"{DC}.clusters[0].evc_mode", "intel-haswell"), (f"{HOST}.cpu", "intel-icelake")), "t").vcenters()[0][1]
    assert vc.datacenters[0].clusters[0].evc_mode == "intel-haswell"
    assert [h.cpu for h in vc.hosts()] == ["intel-icelake", "intel-skylake"]
    assert parse_topology(minimal(), "t").vcenters()[0][1].datacenters[0].clusters[0].evc_mode is None


def test_networks_are_standard_by_default_and_distributed_take_their_vcenters_release():
    """Row V12: the switch behind a network, its version and its uplinks."""
    data = appended(f"{DC}.networks", {"name": "dv-prod", "type": "distributed", "switch": "dvs-1"})
    appended(f"{DC}.networks", {"name": "internal", "type": "distributed", "switch": "dvs-1", "switch_version": "6.6", "uplinks": 0}, data)
    networks = parse_topology(data, "t").vcenters()[0][1].datacenters[0].networks
    assert networks == (NetworkSpec("VM Network"), NetworkSpec("dv-prod", "distributed", "dvs-1", Version(7, 0), 1),
                        NetworkSpec("internal", "distributed", "dvs-1", Version(6, 6), 0))
    assert networks[0] == NetworkSpec("VM Network", "standard", "vSwitch0", None, 1)

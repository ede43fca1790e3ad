"""The Node.js client of interop/node/, run as a user would: a separate process that knows only the
public protos and the state directory's certificates, against an estate started here on port 0.

It prints one JSON line per object or event; each test reads them and checks the estate's side with
the Python client.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from estate_helpers import client_of

from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import CertificateAuthority
from linkedmode.estate import Estate, start_estate
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, vcenter_pb2

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "interop" / "node"
NODE = shutil.which("node")
PUBLIC_PROTOS = ["common", "inventory", "fault_rules", "vcenter", "emulator"]

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not on PATH: the Node.js interop client cannot run (Node.js 18+ and npm; scripts/setup runs npm ci)",
)

# Two linked vCenters (a host without AES-NI in vc-b, for a refusal) and a second SSO domain, whose
# CA signs a certificate vsphere.local must refuse.
TOPOLOGY = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        datacenters:
          - name: dc-a
            clusters: [{name: cluster-a, hosts: [{name: a70, version: 7.0.3}]}]
            datastores: [{name: ds-a}]
            networks: [{name: VM Network}]
            vms:
              - {name: app-required, host: a70, memory_mb: 16, migrate_encryption: required, nics: [{network: VM Network}],
                 disks: [{datastore: ds-a, capacity_mb: 8}], guest: {dirty_rate_mbps: 2, working_set_mb: 4}}
              - {name: app-off, host: a70, memory_mb: 16, power_state: poweredOff, disks: [{datastore: ds-a, capacity_mb: 8}]}
      - name: vc-b
        version: 7.0.3
        datacenters:
          - name: dc-b
            clusters: [{name: cluster-b, hosts: [{name: b70, version: 7.0.3}, {name: b-noaes, version: 7.0.3, aes_ni: false}]}]
            datastores: [{name: ds-b}]
            networks: [{name: VM Network}]
            vms:
              - {name: web-b, host: b70, memory_mb: 16, nics: [{network: VM Network}]}
  - name: corp.local
    vcenters:
      - name: vc-x
        version: 7.0.3
        datacenters:
          - name: dc-x
            clusters: [{name: cluster-x, hosts: [{name: x70, version: 7.0.3}]}]
            datastores: [{name: ds-x}]
            networks: [{name: VM Network}]
"""

TO_VC_B = ["--to-vcenter", "vc-b", "--datastore", "ds-b", "--pool", "cluster-b"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["kind"] == kind]

    def only(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind} line: {self.lines} {self.stderr}"
        return found[0]


@pytest.fixture(scope="module")
def public_protos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of protos/ without the internal API (linked_mode.proto, host_agent.proto): what a user
    of the public API has. The client is pointed at it, so it cannot lean on anything else."""
    copy = tmp_path_factory.mktemp("protos")
    shutil.copytree(ROOT / "protos" / "google", copy / "google")
    (copy / "linkedmode" / "v1").mkdir(parents=True)
    for name in PUBLIC_PROTOS:
        shutil.copy(ROOT / "protos" / "linkedmode" / "v1" / f"{name}.proto", copy / "linkedmode" / "v1")
    return copy


@pytest.fixture(scope="module")
def node_client(public_protos: Path):
    """Runs the client (demo.js) with arguments: its exit status, output (JSON lines) and errors."""
    assert (CLIENT / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        f"{CLIENT}/node_modules is missing: run scripts/setup, which runs npm ci there when node and npm are installed")
    env = {**os.environ, "LINKEDMODE_PROTOS": str(public_protos)}

    def run(*args: str) -> Run:
        done = subprocess.run([NODE or "node", str(CLIENT / "demo.js"), *args], env=env, capture_output=True,
                              text=True, timeout=180, check=False)
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def started(state_dir: Path) -> Estate:
    return start_estate(parse_topology(yaml.safe_load(TOPOLOGY), "node-interop"), state_dir)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    """One estate for the tests that move nothing (refusals move nothing either: they check it)."""
    with started(tmp_path_factory.mktemp("state")) as running:
        yield running


@pytest.fixture
def fresh_estate(tmp_path: Path) -> Estate:
    with started(tmp_path / "state") as running:
        yield running


def state(estate: Estate) -> list[str]:
    return ["--state-dir", str(estate.state_dir)]


def vm_names(estate: Estate, vcenter: str) -> set[str]:
    return {vm.name for vm in client_of(estate, vcenter).api.ListVms(vcenter_pb2.ListVmsRequest()).vms}


def test_lists_the_vms_of_every_vcenter_of_the_domain(estate, node_client):
    run = node_client(*state(estate), "vms")
    assert run.returncode == 0, run
    seen = {(line["vcenter"], line["vm"]["name"]): line["vm"] for line in run.of_kind("vm")}
    assert set(seen) == {("vc-a", "app-required"), ("vc-a", "app-off"), ("vc-b", "web-b")}
    required = seen["vc-a", "app-required"]
    python_view = client_of(estate, "vc-a").api.GetVm(common_pb2.ObjectRef(name="app-required"))
    assert required["instance_uuid"] == python_view.instance_uuid
    # enums by name; int64 as a decimal string (longs: String)
    assert required["migrate_encryption"] == "MIGRATE_ENCRYPTION_REQUIRED"
    assert required["power_state"] == "POWER_STATE_POWERED_ON"
    assert required["memory_mb"] == "16"
    assert seen["vc-a", "app-off"]["power_state"] == "POWER_STATE_POWERED_OFF"


def test_relocates_a_required_vm_to_another_vcenter_and_follows_the_task(fresh_estate, node_client):
    run = node_client(*state(fresh_estate), "relocate", "app-required", "--host", "b70", *TO_VC_B)
    assert run.returncode == 0, run
    updates = run.of_kind("task")
    assert updates and updates[-1]["state"] == "TASK_STATE_SUCCESS"
    assert {u["state"] for u in updates} <= {"TASK_STATE_QUEUED", "TASK_STATE_RUNNING", "TASK_STATE_SUCCESS"}
    assert updates[-1]["progress"] == 100 and updates[-1]["key"] == updates[0]["key"]

    task = run.only("result")["task"]
    assert task["result"] == "migration" and task["error"] is None
    moved = task["migration"]
    assert (moved["vcenter"], moved["host"], moved["mode_asked"]) == ("vc-b", "b70", "MIGRATE_ENCRYPTION_REQUIRED")
    assert moved["encrypted"] is True and moved["hot"] is True and moved["stream"]["encrypted"] is True

    # the random 64-bit migration id reads exactly as the server made it: a string, not a rounded number
    python_view = client_of(fresh_estate, "vc-a").api.GetTask(vcenter_pb2.GetTaskRequest(key=task["key"]))
    assert isinstance(moved["migration_id"], str)
    assert int(moved["migration_id"]) == python_view.migration.migration_id != 0
    assert "app-required" in vm_names(fresh_estate, "vc-b") and "app-required" not in vm_names(fresh_estate, "vc-a")


def test_reads_the_events_of_a_migration_with_their_64_bit_keys(fresh_estate, node_client):
    assert node_client(*state(fresh_estate), "relocate", "app-required", "--host", "b70", *TO_VC_B).returncode == 0
    run = node_client(*state(fresh_estate), "events")
    assert run.returncode == 0, run
    moves = [(line["vcenter"], line["event"]) for line in run.of_kind("event")
             if line["event"]["vm_name"] == "app-required" and "Migrat" in line["event"]["type"]]
    assert {(vc, e["type"]) for vc, e in moves} >= {("vc-a", "VmBeingHotMigratedEvent"), ("vc-a", "VmMigratedEvent"),
                                                     ("vc-b", "VmBeingHotMigratedEvent"), ("vc-b", "VmMigratedEvent")}
    # int64 key and chain_id as decimal strings; one chain on both vCenters: the source's first event
    assert all(isinstance(e["key"], str) and isinstance(e["chain_id"], str) for _, e in moves)
    assert len({e["chain_id"] for _, e in moves}) == 1
    python_view = client_of(fresh_estate, "vc-a").api.QueryEvents(vcenter_pb2.EventFilter())
    keys = {str(e.key): str(e.chain_id) for e in python_view.events}
    assert all(keys[e["key"]] == e["chain_id"] for vc, e in moves if vc == "vc-a")

    # an int64 sent as a string: --after KEY gives only the later events
    on_a = [line["event"]["key"] for line in run.of_kind("event") if line["vcenter"] == "vc-a"]
    after = node_client(*state(fresh_estate), "events", "--vcenter", "vc-a", "--after", on_a[1])
    assert [line["event"]["key"] for line in after.of_kind("event")] == on_a[2:]


def test_a_refused_relocate_fails_its_task_with_the_fault(estate, node_client):
    run = node_client(*state(estate), "relocate", "app-required", "--host", "b-noaes", *TO_VC_B)
    assert run.returncode == 1, run
    task = run.only("result")["task"]
    assert task["state"] == "TASK_STATE_ERROR"
    fault = task["error"]
    assert fault["name"] == "MigrationFeatureNotSupported" and fault["arguments"] == {"host": "b-noaes"}
    assert "migrate_encryption is required but host b-noaes has no AES-NI" in fault["message"]
    assert "app-required" in vm_names(estate, "vc-a")


def test_a_refused_call_carries_its_fault_in_the_status_details(estate, node_client):
    run = node_client(*state(estate), "--user", "auditor", "relocate", "app-required", "--host", "b70", *TO_VC_B)
    assert run.returncode == 1, run
    error = run.only("error")
    assert (error["call"], error["vcenter"], error["code"], error["status"]) == ("RelocateVm", "vc-a", 7, "PERMISSION_DENIED")
    assert error["fault"] == {
        "name": "NoPermission", "object": "user auditor@vsphere.local", "arguments": {"privilege": "admin"},
        "message": "user auditor (read-only) may not call RelocateVm: it needs the admin role",
    }
    assert "app-required" in vm_names(estate, "vc-a")

    run = node_client(*state(estate), "vm", "nope", "--vcenter", "vc-b")
    assert run.returncode == 1, run
    error = run.only("error")
    assert (error["code"], error["status"]) == (5, "NOT_FOUND")
    assert error["fault"] == {"name": "NotFound", "object": "nope", "message": "vc-b has no vm named 'nope'", "arguments": {}}


def self_made_credential(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate naming vsphere.local's administrator, from a CA that only claims the domain."""
    forged = CertificateAuthority.create("vsphere.local").issue(Identity("vsphere.local", "user", "administrator"))
    cert, key = tmp_path / "forged.pem", tmp_path / "forged.key"
    cert.write_bytes(forged.cert_pem)
    key.write_bytes(forged.key_pem)
    return cert, key


def other_domain_credential(estate: Estate) -> tuple[Path, Path]:
    folder = estate.pki_dir / "corp.local" / "user"
    return folder / "administrator.pem", folder / "administrator.key"


@pytest.mark.parametrize("credential", ["another SSO domain's CA", "a self-made CA"])
def test_a_certificate_from_another_ca_is_refused(estate, node_client, tmp_path, credential):
    cert, key = other_domain_credential(estate) if credential == "another SSO domain's CA" else self_made_credential(tmp_path)
    run = node_client(*state(estate), "--cert", str(cert), "--key", str(key), "vms")
    assert run.returncode == 1, run
    error = run.only("error")
    assert (error["call"], error["vcenter"], error["status"], error["fault"]) == ("ListVms", "vc-a", "UNAVAILABLE", None)
    assert error["hint"].startswith("no connection: the server is down, or the TLS handshake failed")
    assert not run.of_kind("vm")


@pytest.mark.parametrize(("args", "message"), [
    (["vms"], "--state-dir DIR is required (the estate's state directory)"),
    (["{state}", "frob"], "unknown command frob: about, vms, vm, events or relocate"),
    (["{state}", "events", "--after", "0x10"], "--after takes an event key (an int64, in digits), not 0x10"),
    (["{state}", "events", "--after", str(2**63)], f"--after takes an event key (an int64, in digits), not {2**63}"),
    (["{state}", "relocate", "app-required"], "relocate needs --host HOST (in the destination vCenter)"),
    (["{state}", "relocate"], "relocate takes one argument: the VM's name"),
    (["{state}", "relocate", "ghost", "--host", "b70"], "no VM ghost in any vCenter of vsphere.local"),
    (["{state}", "vms", "--vcenter", "vc-z"], "no vCenter vc-z in SSO domain vsphere.local (it has: vc-a, vc-b)"),
    (["{state}", "--user", "bob", "vms"], "no user bob in SSO domain vsphere.local (it has: administrator, auditor)"),
    (["{state}", "--domain", "x.local", "vms"], "no SSO domain x.local in this estate (it has: vsphere.local, corp.local)"),
    (["{state}", "--cert", "a.pem", "vms"], "--cert and --key go together: a certificate and its private key"),
    (["{state}", "--ca", "/nonexistent/ca.pem", "vms"], "cannot read the CA certificate /nonexistent/ca.pem: ENOENT"),
])
def test_a_mistake_on_the_command_line_gets_one_line_naming_it(estate, node_client, args, message):
    run = node_client(*[a for arg in args for a in (state(estate) if arg == "{state}" else [arg])])
    assert (run.returncode, run.lines, run.stderr) == (2, [], f"demo.js: {message}\n")


def test_a_state_directory_without_a_running_estate_is_named(node_client, tmp_path):
    run = node_client("--state-dir", str(tmp_path), "vms")
    assert run.returncode == 2
    assert run.stderr == f"demo.js: no {tmp_path}/endpoints.json: is an estate running with this state directory " \
                         f"(linkedmode up --state-dir {tmp_path})?\n"


def test_help_lists_every_command(node_client):
    run = node_client("--help")
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.startswith("usage: node demo.js --state-dir DIR")
    for command in ("about", "vms [--vcenter NAME]", "vm NAME", "events [--vcenter NAME]", "relocate VM --host HOST"):
        assert f"\n  {command} " in run.stdout

"""The pods' probe, `linkedmode health PART`: grpc.health.v1 over mutual TLS, with the credential the pod mounts."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from small_estate import SMALL

from linkedmode.cli.main import main
from linkedmode.crypto.domain_pki import Pki
from linkedmode.crypto.identity import Identity
from linkedmode.deploy.credentials import DeployAuthorities
from linkedmode.deploy.render import render_estate
from linkedmode.host.server import HostServer
from linkedmode.topology import parse_topology
from linkedmode.topology.load import load_topology


def mount_secret(objects, resource: str, state_dir: Path) -> None:
    """The part's Secret under state_dir/pki, as the kubelet mounts it in the pod."""
    secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == resource)
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == resource)
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "credential")
    for item in volume["secret"]["items"]:
        path = state_dir / "pki" / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(secret["data"][item["key"]]))


@pytest.fixture
def pod(tmp_path):
    """Host esx-a serving on loopback with its rendered credential, and a topology that says where."""
    topology = parse_topology(yaml.safe_load(SMALL), "small")
    objects = render_estate(topology, SMALL, DeployAuthorities(topology, tmp_path / "ca"))
    state_dir = tmp_path / "state"
    mount_secret(objects, "host-esx-a", state_dir)
    spec = topology.vcenters()[0][1].hosts()[0]
    server = HostServer(spec, "vsphere.local", "vc-a", Pki(state_dir / "pki").credential(Identity("vsphere.local", "host", "esx-a")))
    server.start()
    path = tmp_path / "topology.yaml"
    path.write_text(SMALL.replace("{name: esx-a, version: 7.0.3}", f'{{name: esx-a, version: 7.0.3, address: "{server.address}"}}'))
    assert load_topology(path).vcenters()[0][1].hosts()[0].address == server.address
    yield server, path, state_dir, tmp_path
    server.stop()


def health(*args: str) -> int:
    return main(["health", *args])


def test_a_serving_part_passes_its_probe(pod, capsys):
    server, topology, state_dir, _ = pod
    assert health("host:esx-a", "--topology", str(topology), "--state-dir", str(state_dir)) == 0
    assert capsys.readouterr().out.strip() == f"host:esx-a at {server.address}: SERVING"
    assert health("host:esx-a", "--topology", str(topology), "--state-dir", str(state_dir),
                  "--service", "linkedmode.v1.HostAgent") == 0


def test_the_pods_probe_command_passes_against_a_serving_part(pod):
    """What the kubelet runs, in a process of its own."""
    from linkedmode.deploy.parts import Part
    from linkedmode.deploy.workloads import health_command

    server, topology, state_dir, _ = pod
    command = health_command(Part("host", "esx-a", "vsphere.local", "vc-a"))
    command = [sys.executable, *command[1:command.index("--topology")], "--topology", str(topology), "--state-dir", str(state_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"host:esx-a at {server.address}: SERVING"


def test_the_probe_entry_point_loads_no_part_and_no_command_line():
    heavy = ("linkedmode.estate", "linkedmode.cli", "linkedmode.vcenter", "linkedmode.host")
    done = subprocess.run([sys.executable, "-c", "import sys, linkedmode.deploy.probe; "
                           f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_probe_without_the_parts_credential_says_what_is_missing(pod, tmp_path):
    _, topology, _, _ = pod
    done = subprocess.run([sys.executable, "-m", "linkedmode.deploy.probe", "host:esx-a", "--topology", str(topology),
                           "--state-dir", str(tmp_path / "empty")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("linkedmode probe: no certificate for host esx-a@vsphere.local under ")


def test_a_part_that_stopped_fails_its_probe(pod, capsys):
    server, topology, state_dir, _ = pod
    address = server.address
    server.stop()
    assert health("host:esx-a", "--topology", str(topology), "--state-dir", str(state_dir), "--timeout", "2") == 1
    out = capsys.readouterr().out
    assert out.startswith(f"host:esx-a at {address}: ") and ("UNAVAILABLE" in out or "DEADLINE_EXCEEDED" in out)


def test_a_credential_of_another_ca_fails_the_probe(pod, capsys):
    """A Secret left by a rendering with another CA: the part's listener refuses the handshake."""
    _, topology, _, tmp_path = pod
    spec = parse_topology(yaml.safe_load(SMALL), "small")
    stale = tmp_path / "stale"
    mount_secret(render_estate(spec, SMALL, DeployAuthorities(spec, tmp_path / "other-ca")), "host-esx-a", stale)
    assert health("host:esx-a", "--topology", str(topology), "--state-dir", str(stale), "--timeout", "2") == 1
    assert "UNAVAILABLE" in capsys.readouterr().out


def test_an_unknown_service_is_not_serving(pod, capsys):
    _, topology, state_dir, _ = pod
    assert health("host:esx-a", "--topology", str(topology), "--state-dir", str(state_dir), "--service", "linkedmode.v1.VCenter") == 1
    assert "NOT_FOUND" in capsys.readouterr().out


def test_a_part_the_topology_lacks_is_named_in_the_error(pod, capsys):
    _, topology, state_dir, _ = pod
    assert health("host:nope", "--topology", str(topology), "--state-dir", str(state_dir)) == 1
    err = capsys.readouterr().err
    assert err.strip() == "linkedmode: the topology has no host 'nope' (it has host:esx-a, host:esx-b, vcenter:vc-a, vcenter:vc-b)"
    assert health("esx-a", "--topology", str(topology), "--state-dir", str(state_dir)) == 1
    assert "'esx-a' is not a part: write vcenter:NAME or host:NAME" in capsys.readouterr().err


def test_a_part_on_any_free_port_cannot_be_probed(pod, capsys):
    _, topology, state_dir, _ = pod
    assert health("host:esx-b", "--topology", str(topology), "--state-dir", str(state_dir)) == 1
    assert "host:esx-b listens on 127.0.0.1:0: any free port" in capsys.readouterr().err

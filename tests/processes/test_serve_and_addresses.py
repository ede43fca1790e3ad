"""`serve PART`: what it refuses and why; where parts listen; the names and IPs the PKI puts in each
part's certificate; free ports given to a topology before its parts start apart."""

from __future__ import annotations

import ipaddress

import pytest
import yaml
from cryptography import x509

from linkedmode.cli.main import main
from linkedmode.crypto.domain_pki import ensure_pki
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import credential_paths
from linkedmode.topology import load_topology, parse_topology
from linkedmode.topology.addresses import PLACED_PORTS_FROM, ephemeral_ports_from, listen_address, part_names, placed_topology_text

SPREAD = """
sso_domains:
  - name: vsphere.local
    vcenters:
      - name: vc-a
        version: 7.0.3
        address: vc-a.lab.example:8443
        datacenters:
          - name: dc
            clusters:
              - name: c
                hosts:
                  - {name: esx-1, version: 7.0.3, address: "10.20.0.11:9000", vmotion: {address: "10.30.0.11:8000"}}
                  - {name: esx-2, version: 7.0.3, address: "127.0.0.1:0"}
"""


def sans(pki, kind: str, name: str) -> list[str]:
    cert = x509.load_pem_x509_certificate(credential_paths(pki, Identity("vsphere.local", kind, name))[0].read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(n) for n in names.get_values_for_type(x509.DNSName)] + [str(n) for n in names.get_values_for_type(x509.IPAddress)]


def test_each_part_certificate_carries_the_names_and_ips_the_topology_dials_it_at(tmp_path):
    topology = parse_topology(yaml.safe_load(SPREAD), "spread")
    ensure_pki(tmp_path / "pki", topology)
    assert "vc-a.lab.example" in sans(tmp_path / "pki", "vcenter", "vc-a")
    host = sans(tmp_path / "pki", "host", "esx-1")
    assert {"10.20.0.11", "10.30.0.11", "esx-1.host.vsphere.local", "127.0.0.1"} <= set(host)
    assert "10.20.0.11" not in sans(tmp_path / "pki", "host", "esx-2")


def test_a_certificate_without_a_new_address_is_made_again_and_only_then(tmp_path):
    before = parse_topology(yaml.safe_load(SPREAD), "spread")
    ensure_pki(tmp_path / "pki", before)
    moved = parse_topology(yaml.safe_load(SPREAD.replace("10.20.0.11", "10.20.0.99")), "moved")
    assert ensure_pki(tmp_path / "pki", moved) == [Identity("vsphere.local", "host", "esx-1")]
    assert "10.20.0.99" in sans(tmp_path / "pki", "host", "esx-1")
    assert ensure_pki(tmp_path / "pki", moved) == []


def test_the_names_of_a_part_leave_out_wildcards():
    topology = parse_topology(yaml.safe_load(SPREAD.replace("127.0.0.1:0", "0.0.0.0:9001")), "wild")
    assert part_names(topology)[("host", "esx-2")] == ("127.0.0.1",)
    assert part_names(topology)[("host", "esx-1")] == ("10.20.0.11", "10.30.0.11")


def test_a_part_listens_on_its_address_when_the_machine_has_it_and_everywhere_otherwise():
    assert listen_address("127.0.0.1:8443") == "127.0.0.1:8443"
    assert listen_address("localhost:8443") == "localhost:8443"
    assert listen_address("192.0.2.10:8443") == "0.0.0.0:8443"                 # TEST-NET-1: never ours
    assert listen_address("no-such-part.invalid:8443") == "0.0.0.0:8443"      # a Service name, say


def test_placing_ports_fixes_every_port_zero_and_keeps_the_rest(tmp_path):
    placed = tmp_path / "placed.yaml"
    placed.write_text(placed_topology_text(SPREAD.replace("10.20.0.11:9000", "127.0.0.1:0")))
    topology = load_topology(placed)
    vc = topology.vcenters()[0][1]
    assert vc.address == "vc-a.lab.example:8443"
    esx1, esx2 = vc.hosts()
    assert esx1.vmotion.address == "10.30.0.11:8000"
    ports = [int(a.rsplit(":", 1)[1]) for a in (esx1.address, esx2.address, esx2.vmotion.address)]
    assert 0 not in ports and len(set(ports)) == 3
    # below the kernel's ephemeral range: no program binding port 0 meanwhile can take a placed port
    assert all(PLACED_PORTS_FROM <= port < ephemeral_ports_from() for port in ports)


def test_placing_a_port_on_an_address_this_machine_does_not_have_is_refused():
    with pytest.raises(ValueError, match=r"cannot pick a free port on '192\.0\.2\.10'"):
        placed_topology_text(SPREAD.replace("127.0.0.1:0", "192.0.2.10:0"))


@pytest.mark.parametrize(("argv", "message"), [
    (["serve"], "name at least one part to serve: vcenter:NAME or host:NAME"),
    (["serve", "esx-1"], "part 'esx-1': expected vcenter:NAME or host:NAME"),
    (["serve", "datastore:ds"], "part 'datastore:ds': expected vcenter:NAME or host:NAME"),
    (["serve", "host:nope"], "part 'host:nope': the topology has no host 'nope' (it has esx-1, esx-2)"),
    (["serve", "vcenter:vc-z"], "part 'vcenter:vc-z': the topology has no vCenter 'vc-z' (it has vc-a)"),
    (["serve", "vcenter:vc-a"], "host esx-2 has port 0 in the topology, and vCenter vc-a must know where to dial it"),
])
def test_serve_refuses_what_it_cannot_serve_and_says_why(tmp_path, capsys, argv, message):
    topology = tmp_path / "spread.yaml"
    topology.write_text(SPREAD)
    ensure_pki(tmp_path / "pki", load_topology(topology))
    assert main([*argv, "--topology", str(topology), "--state-dir", str(tmp_path)]) != 0
    assert message in capsys.readouterr().err


def test_up_restart_needs_processes(tmp_path, capsys):
    assert main(["up", "--restart", "--state-dir", str(tmp_path)]) != 0
    assert "--restart restarts parts that run as processes: use it with --processes" in capsys.readouterr().err


def test_ipv6_names_go_into_certificates_as_addresses(tmp_path):
    topology = parse_topology(yaml.safe_load(SPREAD.replace('"10.20.0.11:9000"', '"[fd00::11]:9000"')), "v6")
    ensure_pki(tmp_path / "pki", topology)
    assert str(ipaddress.ip_address("fd00::11")) in sans(tmp_path / "pki", "host", "esx-1")


def test_a_generated_topology_is_written_out_before_its_ports_are_placed():
    placed = yaml.safe_load(placed_topology_text("generate: {vcenters: 2, hosts_per_vcenter: 3, vms: 12}\n", "gen.yaml"))
    assert "generate" not in placed
    topology = parse_topology(placed, "placed")
    hosts = [h for vc in topology.sso_domains[0].vcenters for h in vc.hosts()]
    assert len(hosts) == 6 and sum(len(vc.vms()) for vc in topology.sso_domains[0].vcenters) == 12
    ports = [int(a.rsplit(":", 1)[1]) for a in (*(vc.address for vc in topology.sso_domains[0].vcenters),
                                                 *(h.address for h in hosts))]
    assert all(ports) and len(set(ports)) == len(ports)     # every part a port of its own, none left at 0

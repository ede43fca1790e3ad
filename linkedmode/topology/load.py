"""Reading a topology from YAML: its shape, its types and the rules that tie its parts together."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ..crypto.passwords import check_password_hash, hash_password
from ..model.cpu import EvcBaseline
from ..model.fault_rules import FaultRule, action_named, step_named
from ..model.faults import InvalidArgument
from ..model.settings import MigrateEncryption, PowerState
from ..model.versions import BANDWIDTHS, NATIVE_KEY_PROVIDER_MIN_VCENTER, Version, managed_esxi
from .fields import Names, Node, TopologyError, describe, spec_keys
from .generate import expand
from .spec import (
    DISTRIBUTED_SWITCH,
    NATIVE_KEY_PROVIDER,
    ROLES,
    STANDARD_SWITCH,
    SWITCH_TYPES,
    ClusterSpec,
    DatacenterSpec,
    DatastoreSpec,
    DiskSpec,
    GuestSpec,
    HostLimits,
    HostSpec,
    HostTimeouts,
    ListenerLimits,
    NetworkSpec,
    NicSpec,
    SsoDomainSpec,
    Topology,
    UserSpec,
    VCenterSpec,
    VCenterTimeouts,
    VMotionLink,
    VMotionSpec,
    VmSpec,
    is_native_key_provider,
)

DEFAULT_USERS = (UserSpec("administrator", "admin"), UserSpec("auditor", "read-only"))
DATASTORE_TYPES = ("local", "shared", "vsan")
_MAC = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}")
_DEFAULT_SOURCE = "<built-in default>"
MAX_LINK_RTT_MS = 150    # row V6: long-distance vMotion supports up to 150 ms round trip
_MODES = tuple(m.value for m in MigrateEncryption)
_POWER_STATES = tuple(p.value for p in PowerState)
_Timeouts = TypeVar("_Timeouts", HostTimeouts, VCenterTimeouts)


def load_topology(path: str | Path) -> Topology:
    """Reads and validates a topology file; any problem with it is a TopologyError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyError(source, "", "no such file") from None
    except UnicodeDecodeError:
        raise TopologyError(source, "", "not UTF-8 text") from None
    except OSError as error:
        raise TopologyError(source, "", f"cannot read it: {error.strerror or error}") from None
    return parse_topology(_parse_yaml(text, source), source)


def default_topology_text() -> str:
    """The built-in default topology as YAML, to copy as a starting point."""
    return resources.files(__package__).joinpath("default.yaml").read_text(encoding="utf-8")


def default_topology() -> Topology:
    return parse_topology(_parse_yaml(default_topology_text(), _DEFAULT_SOURCE), _DEFAULT_SOURCE)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # the base is libyaml's loader when there is one
    """yaml.safe_load's loader, except that a key given twice in one mapping is an error, not a silent overwrite."""


def _mapping_without_duplicate_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:   # an unhashable key: the mapping constructor reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
    return (yield from loader.construct_yaml_map(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicate_keys)


def _parse_yaml(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TopologyError(source, where, f"invalid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise TopologyError(source, "", f"invalid YAML: {error}") from None


def parse_topology(data: object, source: str) -> Topology:
    """Validates an already-parsed YAML document and makes the Topology it describes."""
    if data is None:
        raise TopologyError(source, "", "the document is empty; expected a mapping with sso_domains")
    data = expand(data, source)
    root = Node(data, "", source, spec_keys(Topology, without=("source",)))
    names = _TopologyNames()
    domains = tuple(_domain(node, names) for node in root.mappings("sso_domains", spec_keys(SsoDomainSpec)))
    if not domains:
        raise root.fail("sso_domains", "expected at least one SSO domain")
    return Topology(domains, source)


class _TopologyNames:
    """What must be unique across the whole topology."""

    def __init__(self) -> None:
        self.domains = Names("SSO domain name")
        self.vcenters = Names("vCenter name")
        self.hosts = Names("host name")


class _VCenterNames:
    """What must be unique within one vCenter, and what its parts are checked against."""

    def __init__(self, vcenter: str, version: Version) -> None:
        self.vcenter = vcenter
        self.version = version
        self.datacenters = Names("datacenter name")
        self.clusters = Names("cluster name")
        self.datastores = Names("datastore name")
        self.networks = Names("network name")
        self.vms = Names("VM name")
        # Unique per vCenter, not across vCenters: each hands out its own, and a VM that moves to
        # another vCenter may meet its MAC there (row X4: the destination checks).
        self.macs = Names("MAC address")
        self.key_providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Datacenter:
    """What a VM of a datacenter may refer to."""

    name: str
    hosts: frozenset[str]
    datastores: dict[str, DatastoreSpec]
    networks: frozenset[str]


def _domain(node: Node, names: _TopologyNames) -> SsoDomainSpec:
    name = node.identity_name("name", "an SSO domain")
    names.domains.claim(node, "name", name)
    users = _users(node)
    vcenters = tuple(_vcenter(n, names) for n in node.mappings("vcenters", spec_keys(VCenterSpec)))
    return SsoDomainSpec(name, vcenters, users)


def _users(domain: Node) -> tuple[UserSpec, ...]:
    user_names = Names("user name")
    users = []
    for node in domain.mappings("users", (*spec_keys(UserSpec), "password")):
        name = node.identity_name("name", "a user")
        user_names.claim(node, "name", name)
        users.append(UserSpec(name, node.choice("role", ROLES, UserSpec.role), _password_hash(node)))
    if not users:
        return DEFAULT_USERS
    if not any(u.role == "admin" for u in users):
        raise domain.fail("users", "at least one user must have role admin")
    return tuple(users)


def _password_hash(user: Node) -> str:
    """A user's `password_hash`, or the hash of its clear `password` (never kept, never shown back)."""
    clear, stored = user.data.get("password"), user.data.get("password_hash")
    if clear is not None and stored is not None:
        raise user.fail("password", "give password or password_hash, not both")
    if clear is not None:
        if not isinstance(clear, str) or not clear:
            raise user.fail("password", "expected a non-empty string (quote it if YAML reads it as something else)")
        try:
            return hash_password(clear)
        except ValueError as error:
            raise user.fail("password", str(error)) from None
    if stored is None:
        return ""
    if not isinstance(stored, str):
        raise user.fail("password_hash", "expected a string like scrypt$16384$8$1$SALT$HASH")
    try:
        return check_password_hash(stored)
    except ValueError as error:
        raise user.fail("password_hash", str(error)) from None


def _vcenter(node: Node, names: _TopologyNames) -> VCenterSpec:
    name = node.identity_name("name", "a vCenter")
    names.vcenters.claim(node, "name", name)
    version = node.version("version")
    address = node.address("address", VCenterSpec.address)
    login_address = node.address("login_address") if node.has("login_address") else VCenterSpec.login_address
    scope = _VCenterNames(name, version)
    scope.key_providers = _key_providers(node, version)
    datacenters = tuple(_datacenter(n, names, scope) for n in node.mappings("datacenters", spec_keys(DatacenterSpec)))
    rules = tuple(_fault_rule(n) for n in node.mappings("fault_rules", spec_keys(FaultRule, without=("id", "fired"))))
    return VCenterSpec(name, version, address, datacenters, scope.key_providers, rules, timeouts=_timeouts(node, VCenterTimeouts),
                       limits=_limits(node), metrics_address=node.address("metrics_address", VCenterSpec.metrics_address),
                       login_address=login_address)


def _timeouts(node: Node, kind: type[_Timeouts]) -> _Timeouts:
    """A part's `timeouts:` mapping, each value a positive number of seconds; every key may be left out."""
    timeouts = node.mapping("timeouts", spec_keys(kind))
    if timeouts is None:
        return kind()
    defaults = kind()
    return kind(**{key: timeouts.seconds(key, getattr(defaults, key)) for key in spec_keys(kind)})


def _fault_rule(node: Node) -> FaultRule:
    try:
        rule = FaultRule(
            step=step_named(node.text("step")), action=action_named(node.text("action", FaultRule.action)),
            part=node.text("part", ""), vm=node.text("vm", ""), probability=node.number("probability", FaultRule.probability),
            count=node.integer("count", FaultRule.count, minimum=0), delay_seconds=node.number("delay_seconds", 0.0),
            fault=node.text("fault", FaultRule.fault),
        )
        return rule.check()
    except InvalidArgument as problem:
        raise node.fail(problem.arguments.get("argument", "step"), problem.message) from None


def _key_providers(node: Node, version: Version) -> tuple[str, ...]:
    """A vCenter's key providers; by default its Native Key Provider where it has one (row K3)."""
    if not node.has("key_providers"):
        return VCenterSpec.key_providers if version >= NATIVE_KEY_PROVIDER_MIN_VCENTER else ()
    found: list[str] = []
    for path, provider in node.items("key_providers"):
        if not isinstance(provider, str) or not provider:
            raise TopologyError(node.source, path, f"expected a key provider name, got {describe(provider)}")
        if provider in found:
            raise TopologyError(node.source, path, f"key provider {provider!r} is listed twice")
        if is_native_key_provider(provider) and version < NATIVE_KEY_PROVIDER_MIN_VCENTER:
            raise TopologyError(node.source, path, f"{provider!r} is a Native Key Provider, which needs vCenter "
                                                   f"{NATIVE_KEY_PROVIDER_MIN_VCENTER} (7.0 U2) or later; this vCenter runs {version}")
        found.append(provider)
    return tuple(found)


def _datacenter(node: Node, names: _TopologyNames, scope: _VCenterNames) -> DatacenterSpec:
    name = node.text("name")
    scope.datacenters.claim(node, "name", name)
    clusters = tuple(_cluster(n, names, scope) for n in node.mappings("clusters", spec_keys(ClusterSpec)))
    hosts = frozenset(h.name for c in clusters for h in c.hosts)
    datastores = tuple(_datastore(n, name, hosts, scope) for n in node.mappings("datastores", spec_keys(DatastoreSpec)))
    networks = tuple(_network(n, scope) for n in node.mappings("networks", spec_keys(NetworkSpec)))
    here = _Datacenter(name, hosts, {d.name: d for d in datastores}, frozenset(n.name for n in networks))
    vms = tuple(_vm(n, here, names, scope) for n in node.mappings("vms", spec_keys(VmSpec)))
    return DatacenterSpec(name, clusters, datastores, networks, vms)


def _cluster(node: Node, names: _TopologyNames, scope: _VCenterNames) -> ClusterSpec:
    name = node.text("name")
    scope.clusters.claim(node, "name", name)
    hosts = tuple(_host(n, names, scope) for n in node.mappings("hosts", spec_keys(HostSpec)))
    if not node.has("evc_mode"):
        return ClusterSpec(name, hosts)
    mode = _evc_mode(node, "evc_mode")
    for host in hosts:
        offered = EvcBaseline.named(host.cpu)
        if not offered.covers(mode):
            raise node.fail("evc_mode", f"host {host.name} ({host.cpu}) cannot run EVC mode {mode.key}: {offered.why_not(mode)}")
    return ClusterSpec(name, hosts, mode.key)


def _evc_mode(node: Node, key: str) -> EvcBaseline:
    try:
        return EvcBaseline.named(node.text(key))
    except ValueError as problem:
        raise node.fail(key, str(problem)) from None


def _host(node: Node, names: _TopologyNames, scope: _VCenterNames) -> HostSpec:
    name = node.identity_name("name", "a host")
    names.hosts.claim(node, "name", name)
    version = node.version("version")
    managed = managed_esxi(scope.version)
    if version not in managed:
        raise node.fail("version", f"ESXi {version} cannot be managed by vCenter {scope.vcenter} ({scope.version}), "
                                   f"which manages {managed}")
    aes_ni = node.boolean("aes_ni", HostSpec.aes_ni)
    memory_mb = node.integer("memory_mb", HostSpec.memory_mb)
    address = node.address("address", HostSpec.address)
    timeouts = _timeouts(node, HostTimeouts)
    limits = _host_limits(node)
    cpu = _evc_mode(node, "cpu").key if node.has("cpu") else HostSpec.cpu
    metrics = node.address("metrics_address", HostSpec.metrics_address)
    vmotion = node.mapping("vmotion", spec_keys(VMotionSpec))
    if vmotion is None:
        return HostSpec(name, version, aes_ni, memory_mb, address, timeouts=timeouts, limits=limits, cpu=cpu,
                        metrics_address=metrics)
    interface = VMotionSpec(vmotion.address("address", VMotionSpec.address),
                            vmotion.choice("bandwidth", BANDWIDTHS, VMotionSpec.bandwidth), _vmotion_link(vmotion))
    return HostSpec(name, version, aes_ni, memory_mb, address, interface, timeouts=timeouts, limits=limits, cpu=cpu,
                    metrics_address=metrics)


def _vmotion_link(vmotion: Node) -> VMotionLink:
    """A host's `vmotion.link`: the RTT (ms, up to MAX_LINK_RTT_MS) and rate (Mbit/s) its page streams cross."""
    node = vmotion.mapping("link", spec_keys(VMotionLink))
    if node is None:
        return VMotionLink()
    rtt_ms = node.number("rtt_ms", VMotionLink.rtt_ms, minimum=0.0)
    if rtt_ms > MAX_LINK_RTT_MS:
        raise node.fail("rtt_ms", f"{rtt_ms:g} ms is more than {MAX_LINK_RTT_MS} ms, the longest RTT vMotion supports")
    return VMotionLink(rtt_ms, node.number("rate_mbit", VMotionLink.rate_mbit, minimum=0.0))


def _listener_limits(limits: Node) -> dict[str, int | float]:
    d = ListenerLimits()
    return dict(
        calls_per_principal=limits.integer("calls_per_principal", d.calls_per_principal),
        streams_per_principal=limits.integer("streams_per_principal", d.streams_per_principal),
        user_streams=limits.integer("user_streams", d.user_streams),
        user_workers=limits.integer("user_workers", d.user_workers),
        admin_workers=limits.integer("admin_workers", d.admin_workers),
        peer_workers=limits.integer("peer_workers", d.peer_workers),
        max_message_bytes=limits.integer("max_message_bytes", d.max_message_bytes, minimum=1024),
        keepalive_seconds=limits.number("keepalive_seconds", d.keepalive_seconds, minimum=1.0),
        idle_seconds=limits.number("idle_seconds", d.idle_seconds, minimum=1.0),
        handshake_seconds=limits.number("handshake_seconds", d.handshake_seconds, minimum=0.5),
    )


def _limits(node: Node) -> ListenerLimits:
    """A vCenter's `limits:` mapping (its listener's); every key may be left out."""
    limits = node.mapping("limits", spec_keys(ListenerLimits))
    return ListenerLimits() if limits is None else ListenerLimits(**_listener_limits(limits))  # type: ignore[arg-type]  # each key read as its field's type


def _host_limits(host: Node) -> HostLimits:
    """A host's `limits:` mapping: its HostAgent listener's and its vMotion listener's; every key may be left out."""
    node = host.mapping("limits", spec_keys(HostLimits))
    if node is None:
        return HostLimits()
    return HostLimits(
        **_listener_limits(node),  # type: ignore[arg-type]  # each key read as its field's type
        vmotion_unauthenticated_connections=node.integer(
            "vmotion_unauthenticated_connections", HostLimits.vmotion_unauthenticated_connections),
        vmotion_connections_per_source=node.integer("vmotion_connections_per_source",
                                                    HostLimits.vmotion_connections_per_source),
        vmotion_hello_seconds=node.number("vmotion_hello_seconds", HostLimits.vmotion_hello_seconds, minimum=0.1),
    )


def _datastore(node: Node, datacenter: str, hosts: frozenset[str], scope: _VCenterNames) -> DatastoreSpec:
    name = node.text("name")
    scope.datastores.claim(node, "name", name)
    kind = node.choice("type", DATASTORE_TYPES, DatastoreSpec.type)
    mounted_by: list[str] = []
    for path, host in node.items("hosts"):
        if not isinstance(host, str):
            raise TopologyError(node.source, path, f"expected a host name, got {describe(host)}")
        if host not in hosts:
            raise TopologyError(node.source, path, f"{host!r} is not a host of datacenter {datacenter!r}")
        if host in mounted_by:
            raise TopologyError(node.source, path, f"host {host!r} is listed twice")
        mounted_by.append(host)
    if kind == "local" and len(mounted_by) != 1:
        raise node.fail("hosts", f"a local datastore must name exactly one host, got {len(mounted_by)}")
    encrypted = node.boolean("encrypted", DatastoreSpec.encrypted)
    if encrypted and kind != "vsan":
        raise node.fail("encrypted", f"only a vsan datastore can be encrypted, and this one is {kind}")
    return DatastoreSpec(name, kind, tuple(mounted_by), encrypted, node.integer("capacity_mb", DatastoreSpec.capacity_mb),
                         _vsan_key_provider(node, encrypted, scope))


def _vsan_key_provider(node: Node, encrypted: bool, scope: _VCenterNames) -> str | None:
    """vSAN encryption takes its datastore key from a key provider of the vCenter (row D4)."""
    providers = scope.key_providers
    if not encrypted:
        if node.has("key_provider"):
            raise node.fail("key_provider", "only an encrypted vsan datastore (encrypted: true) has a key provider")
        return None
    if not providers:
        raise node.fail("encrypted", f"vSAN encryption needs a key provider, and vCenter {scope.vcenter} has none "
                                     "(give it key_providers)")
    provider = node.text("key_provider", providers[0])
    if provider not in providers:
        raise node.fail("key_provider", f"{provider!r} is not a key provider of this vCenter (it has {', '.join(providers)})")
    return provider


def _network(node: Node, scope: _VCenterNames) -> NetworkSpec:
    name = node.text("name")
    scope.networks.claim(node, "name", name)
    kind = node.choice("type", SWITCH_TYPES, NetworkSpec.type)
    uplinks = node.integer("uplinks", NetworkSpec.uplinks, minimum=0)
    if kind == STANDARD_SWITCH:
        if node.has("switch_version"):
            raise node.fail("switch_version", "only a distributed switch has a version; this network is on a standard switch")
        return NetworkSpec(name, kind, node.text("switch", NetworkSpec.switch), None, uplinks)
    release = Version(scope.version.major, scope.version.minor)
    version = node.version("switch_version") if node.has("switch_version") else release
    if version > scope.version:
        raise node.fail("switch_version", f"a distributed switch of version {version} needs vCenter {version} or later; "
                                          f"this vCenter runs {scope.version}")
    return NetworkSpec(name, DISTRIBUTED_SWITCH, node.text("switch"), version, uplinks)


def _vm(node: Node, datacenter: _Datacenter, names: _TopologyNames, scope: _VCenterNames) -> VmSpec:
    name = node.text("name")
    scope.vms.claim(node, "name", name)
    host = node.text("host")
    if host not in datacenter.hosts:
        raise node.fail("host", f"{host!r} is not a host of datacenter {datacenter.name!r}")
    memory_mb = node.integer("memory_mb", VmSpec.memory_mb)
    num_cpu = node.integer("num_cpu", VmSpec.num_cpu)
    encrypted = node.boolean("encrypted", VmSpec.encrypted)
    return VmSpec(
        name=name,
        host=host,
        memory_mb=memory_mb,
        num_cpu=num_cpu,
        disks=tuple(_disk(n, host, datacenter) for n in node.mappings("disks", spec_keys(DiskSpec))),
        nics=tuple(_nic(n, datacenter, scope) for n in node.mappings("nics", spec_keys(NicSpec))),
        migrate_encryption=_migrate_encryption(node, encrypted),
        power_state=PowerState(node.choice("power_state", _POWER_STATES, VmSpec.power_state.value)),
        encrypted=encrypted,
        key_provider=_key_provider(node, encrypted, scope.key_providers),
        guest=_guest(node, memory_mb),
    )


def _migrate_encryption(vm: Node, encrypted: bool) -> MigrateEncryption:
    if not encrypted:
        return MigrateEncryption(vm.choice("migrate_encryption", _MODES, VmSpec.migrate_encryption.value))
    mode = vm.choice("migrate_encryption", _MODES, MigrateEncryption.REQUIRED.value)
    if mode != MigrateEncryption.REQUIRED.value:
        raise vm.fail("migrate_encryption", f"an encrypted VM's migrate_encryption reads required and cannot be {mode}")
    return MigrateEncryption.REQUIRED


def _key_provider(vm: Node, encrypted: bool, providers: tuple[str, ...]) -> str | None:
    if encrypted:
        provider = vm.text("key_provider", NATIVE_KEY_PROVIDER)
        if provider not in providers:
            raise vm.fail("key_provider", f"{provider!r} is not a key provider of this vCenter (it has {', '.join(providers) or 'none'})")
        return provider
    if vm.has("key_provider"):
        raise vm.fail("key_provider", "only an encrypted VM (encrypted: true) has a key provider")
    return None


def _guest(vm: Node, memory_mb: int) -> GuestSpec:
    node = vm.mapping("guest", spec_keys(GuestSpec))
    if node is None:
        return GuestSpec()
    dirty_rate_mbps = node.number("dirty_rate_mbps", GuestSpec.dirty_rate_mbps)
    working_set_mb = node.integer("working_set_mb", GuestSpec.working_set_mb, minimum=0)
    if working_set_mb > memory_mb:
        raise node.fail("working_set_mb", f"{working_set_mb} MB is more than the VM's memory_mb ({memory_mb})")
    return GuestSpec(dirty_rate_mbps, working_set_mb)


def _disk(node: Node, host: str, datacenter: _Datacenter) -> DiskSpec:
    name = node.text("datastore")
    datastore = datacenter.datastores.get(name)
    if datastore is None:
        raise node.fail("datastore", f"no datastore {name!r} in datacenter {datacenter.name!r}")
    if datastore.hosts and host not in datastore.hosts:
        raise node.fail("datastore", f"datastore {name!r} is not mounted by the VM's host {host!r} "
                                     f"(only by {', '.join(datastore.hosts)})")
    return DiskSpec(name, node.integer("capacity_mb"), node.boolean("encrypted", DiskSpec.encrypted))


def _nic(node: Node, datacenter: _Datacenter, scope: _VCenterNames) -> NicSpec:
    network = node.text("network")
    if network not in datacenter.networks:
        raise node.fail("network", f"no network {network!r} in datacenter {datacenter.name!r}")
    given = node.data.get("mac_address")
    if isinstance(given, int) and not isinstance(given, bool):
        # YAML 1.1 reads an all-digit MAC such as 10:20:30:40:50:59 as a base-60 number.
        raise node.fail("mac_address", f"YAML read this MAC address as the number {given}; quote it")
    mac = node.text("mac_address", None)
    if mac is None:
        return NicSpec(network)
    if not _MAC.fullmatch(mac.lower()):
        raise node.fail("mac_address", f"{mac!r} is not a MAC address like 00:50:56:3a:00:01")
    scope.macs.claim(node, "mac_address", mac.lower())
    return NicSpec(network, mac.lower())

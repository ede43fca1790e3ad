"""The topology: which SSO domains, vCenters, hosts, datastores, networks and VMs an estate has.

Plain frozen values, made by `linkedmode.topology.load` from YAML and validated there; every part is
started from them. Addresses are "host:port"; port 0 means "any free port", resolved at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.cpu import DEFAULT_CPU
from ..model.fault_rules import FaultRule
from ..model.settings import MigrateEncryption, PowerState
from ..model.versions import Version


@dataclass(frozen=True)
class GuestSpec:
    """How the emulated guest writes its memory (what makes pre-copy real)."""

    dirty_rate_mbps: float = 0.0
    working_set_mb: int = 0


@dataclass(frozen=True)
class DiskSpec:
    datastore: str
    capacity_mb: int
    encrypted: bool = False


@dataclass(frozen=True)
class NicSpec:
    network: str
    mac_address: str | None = None   # None: the vCenter assigns one


@dataclass(frozen=True)
class VmSpec:
    name: str
    host: str
    memory_mb: int = 256
    num_cpu: int = 1
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    migrate_encryption: MigrateEncryption = MigrateEncryption.OPPORTUNISTIC
    power_state: PowerState = PowerState.POWERED_ON
    encrypted: bool = False            # VM encryption (its mode then reads `required`)
    key_provider: str | None = None    # for encrypted VMs
    guest: GuestSpec = field(default_factory=GuestSpec)


@dataclass(frozen=True)
class VMotionLink:
    """The path from a host's vMotion interface to the other hosts, as the emulator shapes the page
    streams the host sends (row V6): a round-trip time and a rate. 0 leaves either unshaped."""

    rtt_ms: float = 0.0
    rate_mbit: float = 0.0      # megabits a second (1 GbE: 1000)

    @property
    def shaped(self) -> bool:
        return bool(self.rtt_ms or self.rate_mbit)


@dataclass(frozen=True)
class VMotionSpec:
    address: str = "127.0.0.1:0"
    bandwidth: str = "10GbE"
    link: VMotionLink = field(default_factory=VMotionLink)


@dataclass(frozen=True)
class HostTimeouts:
    """Every wait of a host, in seconds (the topology's `timeouts` of a host)."""

    prepared_expiry: float = 120.0     # a prepared migration whose page stream never starts is dropped
    arrival_end: float = 30.0          # Complete or Abort waits this long for an arriving VM to run or be dropped


@dataclass(frozen=True)
class ListenerLimits:
    """What the principals of a gRPC listener may hold of it (the topology's `limits` of a vCenter or a host).

    Users' calls, admins' calls and peers' calls (vCenter to vCenter, vCenter to host) are served by
    threads of their own, so no user can starve an admin or a peer; streams wait on the event loop and
    hold no thread.
    """

    calls_per_principal: int = 8          # calls of one user at once, running or waiting for a thread
    streams_per_principal: int = 16       # open streams (WaitTask, WatchEvents, health Watch) of one user
    user_streams: int = 1000              # open streams of every user together (admins' apart)
    user_workers: int = 8                 # threads serving users' calls
    admin_workers: int = 4                # threads serving admin users' calls only
    peer_workers: int = 16                # threads serving peers' calls only
    max_message_bytes: int = 4 << 20      # the largest request the listener takes
    keepalive_seconds: float = 60.0       # the listener pings a client connection this often
    idle_seconds: float = 300.0           # a connection without calls for this long is closed
    handshake_seconds: float = 10.0       # a connection that has not finished its TLS handshake by then is closed


@dataclass(frozen=True)
class HostLimits(ListenerLimits):
    """A host's `limits`: those of its HostAgent listener, and what its vMotion listener allows before a
    connection authenticates."""

    vmotion_unauthenticated_connections: int = 64   # waiting for their HELLO, from everywhere
    vmotion_connections_per_source: int = 8         # of those, from one source address
    vmotion_hello_seconds: float = 5.0              # from accept to a complete HELLO


@dataclass(frozen=True)
class HostSpec:
    name: str
    version: Version
    aes_ni: bool = True
    memory_mb: int = 65536
    address: str = "127.0.0.1:0"       # the HostAgent listener
    vmotion: VMotionSpec = field(default_factory=VMotionSpec)
    timeouts: HostTimeouts = field(default_factory=HostTimeouts)
    limits: HostLimits = field(default_factory=HostLimits)
    cpu: str = DEFAULT_CPU             # the newest EVC mode its CPU supports: its vendor and generation (row V10)
    metrics_address: str = "127.0.0.1:0"   # where its Prometheus metrics are served (plain HTTP)


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    hosts: tuple[HostSpec, ...] = ()
    evc_mode: str | None = None        # EVC: every host offers only this baseline (row V10)


@dataclass(frozen=True)
class DatastoreSpec:
    name: str
    type: str = "shared"               # "local", "shared" or "vsan"
    hosts: tuple[str, ...] = ()        # host names that mount it; empty: every host of the datacenter
    encrypted: bool = False            # vSAN encryption (row D4): its data key comes from a key provider of the vCenter
    capacity_mb: int = 1_048_576
    key_provider: str | None = None    # for an encrypted vsan datastore; None: the vCenter's first key provider


STANDARD_SWITCH = "standard"
DISTRIBUTED_SWITCH = "distributed"
SWITCH_TYPES = (STANDARD_SWITCH, DISTRIBUTED_SWITCH)


@dataclass(frozen=True)
class NetworkSpec:
    """A VM network: a port group of a standard switch, or of a distributed switch with its version (row V12)."""

    name: str
    type: str = STANDARD_SWITCH
    switch: str = "vSwitch0"
    switch_version: Version | None = None   # a distributed switch's version; None for a standard switch
    uplinks: int = 1                        # physical NICs behind it; 0: an internal network ("virtual intranet")


@dataclass(frozen=True)
class DatacenterSpec:
    name: str
    clusters: tuple[ClusterSpec, ...] = ()
    datastores: tuple[DatastoreSpec, ...] = ()
    networks: tuple[NetworkSpec, ...] = ()
    vms: tuple[VmSpec, ...] = ()

    def hosts(self) -> tuple[HostSpec, ...]:
        return tuple(h for c in self.clusters for h in c.hosts)


@dataclass(frozen=True)
class VCenterTimeouts:
    """Every wait of a vCenter, in seconds (the topology's `timeouts` of a vCenter)."""

    host_call: float = 10.0                # one HostAgent call
    host_heartbeat: float = 2.0            # a destination host must answer this fast to be a target
    host_connect: float = 5.0              # reaching a host at start
    peer_call: float = 30.0                # one LinkedMode call to another vCenter
    peer_hello: float = 5.0                # a peer's answer to Hello, when the vCenters link at start
    locator_probe: float = 3.0             # reading the certificate at a ServiceLocator's URL
    switchover_goal: float = 0.5           # row V2: pre-copy stops when the rest crosses within this
    max_switchover: float = 100.0          # row V4: vmotion.maxSwitchoverSeconds
    perf_interval: float = 20.0            # row X5: the realtime interval: each running VM is sampled this often
    migration: float = 3600.0              # the longest page stream a vCenter follows
    resume_wait: float = 10.0              # for the destination host to run the VM after END
    arrival_expiry: float = 3600.0         # an arrival prepared here but never committed is dropped
    reservation_expiry: float = 60.0       # a destination slot reserved but never prepared is given back
    slot_retry: float = 0.5                # a queued move asks again for its destination host's slot
    settle_interval: float = 5.0           # unsettled journal rows are tried again this often
    session_idle: float = 1800.0           # a user's session without a call ends (vSphere's 30 minutes)


@dataclass(frozen=True)
class VCenterSpec:
    name: str
    version: Version
    address: str = "127.0.0.1:0"
    datacenters: tuple[DatacenterSpec, ...] = ()
    # Key providers this vCenter can get keys from; the same name on two vCenters is the same
    # provider (an external KMS both trust). Default: its own Native Key Provider.
    key_providers: tuple[str, ...] = ("native-key-provider",)
    # Fault injection rules installed at start, as through the Emulator service of this vCenter.
    fault_rules: tuple[FaultRule, ...] = ()
    timeouts: VCenterTimeouts = field(default_factory=VCenterTimeouts)
    limits: ListenerLimits = field(default_factory=ListenerLimits)
    metrics_address: str = "127.0.0.1:0"   # where its Prometheus metrics are served (plain HTTP)
    # Where users log in with a password (server-only TLS, no client certificate): "" takes a free
    # port on the host of `address`. See docs/cross-domain.md.
    login_address: str = ""

    def hosts(self) -> tuple[HostSpec, ...]:
        return tuple(h for dc in self.datacenters for h in dc.hosts())

    def vms(self) -> tuple[VmSpec, ...]:
        return tuple(vm for dc in self.datacenters for vm in dc.vms)


ROLES = ("admin", "read-only")


@dataclass(frozen=True)
class UserSpec:
    name: str
    role: str = "admin"
    # scrypt hash of the user's password (crypto/passwords.py); empty: the user logs in by certificate
    # only. A topology gives `password_hash`, or `password` in clear, which the loader hashes and forgets.
    password_hash: str = field(default="", repr=False)


@dataclass(frozen=True)
class SsoDomainSpec:
    name: str
    vcenters: tuple[VCenterSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()


NATIVE_KEY_PROVIDER = "native-key-provider"
NATIVE_KEY_PROVIDER_PREFIX = "nkp-"     # a vCenter's own Native Key Provider, named apart from others (nkp-vc-a)


def is_native_key_provider(name: str) -> bool:
    """The Native Key Provider built into vCenter: `native-key-provider`, or one named `nkp-...`."""
    return name == NATIVE_KEY_PROVIDER or name.startswith(NATIVE_KEY_PROVIDER_PREFIX)


@dataclass(frozen=True)
class KmsSpec:
    """The KMS of a Standard Key Provider: every other key provider a vCenter lists is one, served by a
    KMIP server of that name. Its certificate comes from the CA of the first SSO domain whose vCenters
    use it; it trusts clients of every such domain."""

    name: str
    domain: str
    client_domains: tuple[str, ...]


@dataclass(frozen=True)
class Topology:
    sso_domains: tuple[SsoDomainSpec, ...]
    source: str = "<built-in default>"   # where it was read from, for messages

    def vcenters(self) -> tuple[tuple[SsoDomainSpec, VCenterSpec], ...]:
        return tuple((d, vc) for d in self.sso_domains for vc in d.vcenters)

    def kms_servers(self) -> tuple[KmsSpec, ...]:
        found: dict[str, list[str]] = {}
        for domain, vc in self.vcenters():
            for provider in vc.key_providers:
                if not is_native_key_provider(provider):
                    users = found.setdefault(provider, [])
                    if domain.name not in users:
                        users.append(domain.name)
        return tuple(KmsSpec(name, users[0], tuple(users)) for name, users in found.items())

    def domain(self, name: str) -> SsoDomainSpec:
        for d in self.sso_domains:
            if d.name == name:
                return d
        raise KeyError(name)

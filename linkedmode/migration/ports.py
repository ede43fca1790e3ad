"""What the migration code needs of the vCenter it runs in, as a small interface: the VCenter class
provides it, unit tests provide fakes. Nothing here imports the VCenter itself."""

from __future__ import annotations

from typing import Protocol

from ..crypto.pki import Credential
from ..kms.providers import KeyProviders
from ..model.fault_rules import FaultInjector
from ..reaper import Reaper
from ..topology.spec import VCenterTimeouts
from ..vcenter.datastores import DatastoreFolders
from ..vcenter.host_client import HostConnections
from ..vcenter.peers import PeerInfo
from ..vcenter.state import VCenterState
from .slots import VMotionSlots


class VCenterParts(Protocol):
    """One vCenter, as its migrations see it."""

    state: VCenterState
    hosts: HostConnections
    datastores: DatastoreFolders
    faults: FaultInjector
    slots: VMotionSlots
    reaper: Reaper
    credential: Credential
    domain: str
    keys: KeyProviders

    @property
    def name(self) -> str: ...
    @property
    def instance_uuid(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def alive(self) -> bool: ...
    @property
    def timeouts(self) -> VCenterTimeouts: ...
    @property
    def key_providers(self) -> tuple[str, ...]: ...

    def peers(self) -> list[PeerInfo]: ...
    def block_macs(self, macs: list[str]) -> None: ...

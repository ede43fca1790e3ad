"""The linked vCenters of an SSO domain, as each introduced itself."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.faults import InvalidArgument
from ..model.validation import host_port, required, shown
from ..model.versions import Version


@dataclass(frozen=True)
class PeerInfo:
    """A linked vCenter of the same SSO domain, as it introduced itself."""

    name: str
    instance_uuid: str
    version: str
    sso_domain: str
    url: str
    thumbprint: str

    def check(self) -> PeerInfo:
        """What a relocate to this peer relies on: its instance UUID, a version, an address, a thumbprint."""
        required("instance_uuid", self.instance_uuid)
        required("thumbprint", self.thumbprint)
        host_port("url", self.url)
        try:
            Version.parse(self.version)
        except ValueError:
            raise InvalidArgument(f"version {shown(self.version)} is not a version like 7.0 or 7.0.3", argument="version") from None
        return self

"""The linked vCenters of an SSO domain, as each introduced itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeerInfo:
    """A linked vCenter of the same SSO domain, as it introduced itself."""

    name: str
    instance_uuid: str
    version: str
    sso_domain: str
    url: str
    thumbprint: str

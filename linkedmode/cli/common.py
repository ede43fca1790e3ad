"""What every client command shares: where the estate is, who you are, how errors read."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..client import Client, Endpoints, VCenterClient

DEFAULT_STATE_DIR = Path(os.environ.get("LINKEDMODE_STATE_DIR", ".linkedmode"))
DEFAULT_DOMAIN = "vsphere.local"
DEFAULT_USER = "administrator"


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help=f"state directory of a running `linkedmode up` (default {DEFAULT_STATE_DIR}, or $LINKEDMODE_STATE_DIR)")
    parser.add_argument("--domain", default=DEFAULT_DOMAIN, help=f"SSO domain (default {DEFAULT_DOMAIN})")
    parser.add_argument("--user", default=DEFAULT_USER, help=f"user of the SSO domain to act as (default {DEFAULT_USER})")
    parser.add_argument("--vcenter", help="vCenter to ask (default: every vCenter of the domain, or the one that has the VM)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


class Session:
    """Connections to the vCenters of one SSO domain, as one user: a linkedmode.client.Client."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.endpoints = Endpoints(args.state_dir)
        self.domain = args.domain
        self.user = args.user
        names = [vc["name"] for vc in self.endpoints.vcenters(self.domain)]
        if args.vcenter and args.vcenter not in names:
            raise CommandError(f"no vCenter {args.vcenter!r} in {self.domain} (it has {', '.join(names)})")
        self.names = [args.vcenter] if args.vcenter else names
        addresses = {vc["name"]: vc["address"] for vc in self.endpoints.vcenters(self.domain)}
        self.client = Client({n: addresses[n] for n in self.names}, self.endpoints.user(self.domain, self.user))
        self._others: Client | None = None
        self._addresses = addresses

    def vcenter(self, name: str) -> VCenterClient:
        if name in self.client.addresses:
            return self.client.vcenter(name)
        if self._others is None:   # a migration's target outside --vcenter
            self._others = Client(self._addresses, self.client.credential)
        return self._others.vcenter(name)

    def all(self) -> list[VCenterClient]:
        return [self.vcenter(n) for n in self.names]

    def close(self) -> None:
        self.client.close()
        if self._others is not None:
            self._others.close()

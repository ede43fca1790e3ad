"""linkedmode certs init DIR: the PKI of a topology's SSO domains."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..crypto.domain_pki import ensure_pki, identities
from .up import load


def certs_init(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    made = ensure_pki(args.dir, topology)
    kept = len(identities(topology)) - len(made)
    print(f"{args.dir}: {len(made)} certificates made, {kept} already there, "
          f"{len(topology.sso_domains)} SSO domain CA(s)")
    for identity in made:
        print(f"  {identity.uri}")
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = commands.add_parser("certs", help="manage the development PKI").add_subparsers(dest="action", required=True, metavar="ACTION")
    init = certs.add_parser("init", help="make a CA per SSO domain and a certificate for every vCenter, host and user")
    init.add_argument("dir", type=Path, help="where to write them (e.g. certs/)")
    init.add_argument("--topology", help="topology YAML file (default: the built-in topology)")
    init.set_defaults(handler=certs_init, needs_session=False)

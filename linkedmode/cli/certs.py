"""linkedmode certs init DIR: the PKI of a topology's SSO domains, laid out as a state directory has it;
linkedmode certs export USER DIR: one user's credential alone, for a client of a running estate."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..client import Endpoints
from ..client.bundle import export_user
from ..crypto.domain_pki import CA_FOLDER, ensure_pki, identities
from .common import DEFAULT_STATE_DIR
from .up import load


def certs_init(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    os.umask(0o077)
    pki, ca = args.dir / "pki", args.ca_dir or args.dir / CA_FOLDER
    made = ensure_pki(pki, topology, ca_root=ca)
    kept = len(identities(topology)) - len(made)
    print(f"{pki}: {len(made)} certificates made, {kept} already there; "
          f"{len(topology.sso_domains)} SSO domain CA(s), their keys in {ca}")
    for identity in made:
        print(f"  {identity.uri}")
    return 0


def certs_export(args: argparse.Namespace) -> int:
    pki = export_user(Endpoints(args.state_dir), args.domain, args.user, args.dir)
    print(f"{args.dir}: the credential of {args.user}@{args.domain} alone, in {pki}; "
          f"use it with: linkedmode vm list --state-dir {args.dir} --user {args.user} --domain {args.domain}")
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = commands.add_parser("certs", help="manage the development PKI").add_subparsers(dest="action", required=True, metavar="ACTION")
    init = certs.add_parser("init", help="make a CA per SSO domain and a certificate for every vCenter, host and user")
    init.add_argument("dir", type=Path, help="a state directory to write them in: DIR/pki for parts and clients, "
                                             "DIR/ca for the CA keys (e.g. certs/)")
    init.add_argument("--ca-dir", type=Path, default=None, help="keep the CA keys here instead of DIR/ca")
    init.add_argument("--topology", help="topology YAML file (default: the built-in topology)")
    init.set_defaults(handler=certs_init, needs_session=False)
    export = certs.add_parser("export", help="one user's credential alone, for a client of a running estate")
    export.add_argument("user", help="the user whose credential the client gets (e.g. auditor)")
    export.add_argument("dir", type=Path, help="a folder for the client: its endpoints.json and pki/, owner-only")
    export.add_argument("--domain", default="vsphere.local", help="the user's SSO domain (default vsphere.local)")
    export.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help=f"state directory of a running `linkedmode up` (default {DEFAULT_STATE_DIR})")
    export.set_defaults(handler=certs_export, needs_session=False)

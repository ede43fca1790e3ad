"""linkedmode certs init DIR: the PKI of a topology's SSO domains, laid out as a state directory has it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..crypto.domain_pki import CA_FOLDER, ensure_pki, identities
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


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = commands.add_parser("certs", help="manage the development PKI").add_subparsers(dest="action", required=True, metavar="ACTION")
    init = certs.add_parser("init", help="make a CA per SSO domain and a certificate for every vCenter, host and user")
    init.add_argument("dir", type=Path, help="a state directory to write them in: DIR/pki for parts and clients, "
                                             "DIR/ca for the CA keys (e.g. certs/)")
    init.add_argument("--ca-dir", type=Path, default=None, help="keep the CA keys here instead of DIR/ca")
    init.add_argument("--topology", help="topology YAML file (default: the built-in topology)")
    init.set_defaults(handler=certs_init, needs_session=False)

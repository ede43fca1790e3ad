"""`linkedmode kms ...`: a vCenter's key providers (list, add a KMS, default), and Native Key Provider backup and restore.

A backup password is never an argument (others see a process's arguments): it is read from the file
``--password-file`` names, else from $LINKEDMODE_BACKUP_PASSWORD, else asked for on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path

from ..crypto.files import write_private
from ..v1 import vcenter_pb2
from .common import CommandError, Session, add_client_options
from .output import print_fields, print_json, print_table

PASSWORD_VARIABLE = "LINKEDMODE_BACKUP_PASSWORD"


def _one_vcenter(session: Session, args: argparse.Namespace) -> str:
    if not args.vcenter:
        raise CommandError(f"say which vCenter with --vcenter (one of {', '.join(session.names)})")
    return str(args.vcenter)


def _password(args: argparse.Namespace, confirm: bool) -> str:
    if args.password_file:
        return Path(args.password_file).read_text().rstrip("\n")
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    password = getpass.getpass("backup password: ")
    if confirm and getpass.getpass("again: ") != password:
        raise CommandError("the two passwords differ")
    return password


def _info(vcenter: str, p: vcenter_pb2.KeyProviderInfo) -> dict[str, object]:
    return {"vcenter": vcenter, "name": p.name, "type": "native" if p.native else "standard (KMIP)",
            "kms": p.kms_address, "default": p.is_default}


def kms_list(session: Session, args: argparse.Namespace) -> None:
    rows = [_info(client.name, p) for client in session.all()
            for p in client.api.ListKeyProviders(vcenter_pb2.ListKeyProvidersRequest()).providers]
    if args.json:
        print_json(rows)
        return
    print_table(["VCENTER", "KEY PROVIDER", "TYPE", "KMS", "DEFAULT"],
                [[r["vcenter"], r["name"], r["type"], r["kms"] or "-", "yes" if r["default"] else ""] for r in rows])


def kms_add(session: Session, args: argparse.Namespace) -> None:
    vcenter = _one_vcenter(session, args)
    info = session.vcenter(vcenter).api.AddKeyProvider(vcenter_pb2.AddKeyProviderRequest(name=args.name, kms_address=args.address))
    _show(vcenter, info, args.json)


def kms_default(session: Session, args: argparse.Namespace) -> None:
    vcenter = _one_vcenter(session, args)
    info = session.vcenter(vcenter).api.SetDefaultKeyProvider(vcenter_pb2.KeyProviderRef(name=args.name))
    _show(vcenter, info, args.json)


def kms_backup(session: Session, args: argparse.Namespace) -> None:
    vcenter = _one_vcenter(session, args)
    answer = session.vcenter(vcenter).api.BackupKeyProvider(
        vcenter_pb2.BackupKeyProviderRequest(name=args.name, password=_password(args, confirm=True)))
    write_private(Path(args.output), answer.backup)
    if args.json:
        print_json({"vcenter": vcenter, "name": args.name, "backup": str(args.output)})
    else:
        print(f"key provider {args.name} of {vcenter} backed up to {args.output} (sealed under the password)")


def kms_restore(session: Session, args: argparse.Namespace) -> None:
    vcenter = _one_vcenter(session, args)
    backup = Path(args.backup).read_bytes()
    info = session.vcenter(vcenter).api.RestoreKeyProvider(
        vcenter_pb2.RestoreKeyProviderRequest(backup=backup, password=_password(args, confirm=False)))
    _show(vcenter, info, args.json)


def _show(vcenter: str, info: vcenter_pb2.KeyProviderInfo, as_json: bool) -> None:
    row = _info(vcenter, info)
    if as_json:
        print_json(row)
    else:
        print_fields([(k, v) for k, v in row.items()])


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kms = commands.add_parser("kms", help="key providers: list, add, default, Native Key Provider backup and restore")
    actions = kms.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the key providers of each vCenter")
    listing.set_defaults(handler=kms_list)
    add = actions.add_parser("add", help="add a KMS as a Standard Key Provider of a vCenter (needs --vcenter)")
    add.add_argument("name", help="the key provider's name: the KMS's certificate is kms/NAME of the domain")
    add.add_argument("--address", required=True, help="where the KMS listens, IP:PORT")
    add.set_defaults(handler=kms_add)
    default = actions.add_parser("default", help="make a key provider the vCenter's default (needs --vcenter)")
    default.add_argument("name")
    default.set_defaults(handler=kms_default)
    backup = actions.add_parser("backup", help="write a Native Key Provider to a password-protected file (needs --vcenter)")
    backup.add_argument("name")
    backup.add_argument("--output", "-o", required=True, help="the backup file to write (made owner-only)")
    restore = actions.add_parser("restore", help="restore a Native Key Provider backup into a vCenter (needs --vcenter)")
    restore.add_argument("backup", help="a file written by `kms backup`")
    backup.set_defaults(handler=kms_backup)
    restore.set_defaults(handler=kms_restore)
    for parser in (backup, restore):
        parser.add_argument("--password-file", help=f"read the password from this file (else ${PASSWORD_VARIABLE}, else ask)")
    for parser in (listing, add, default, backup, restore):
        add_client_options(parser)

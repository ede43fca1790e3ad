"""A vCenter of another SSO domain, as the command line reaches it: at its login address, as a user
of that domain with a password (row X7). The password comes from $LINKEDMODE_PASSWORD or a prompt,
never from the command line, and is kept only while the command runs."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

import grpc

from ..client import Endpoints, VCenterClient
from ..crypto.identity import Identity
from ..rpc.login import Metadata, log_in
from ..rpc.tls import server_only_channel
from .common import CommandError

PASSWORD_ENV = "LINKEDMODE_PASSWORD"
LOGIN_SECONDS = 30


def read_password(user: str, vcenter: str) -> str:
    password = os.environ.get(PASSWORD_ENV, "")
    if not password and sys.stdin.isatty():
        try:
            password = getpass.getpass(f"password of {user} at {vcenter}: ")
        except EOFError:
            password = ""
    if not password:
        raise CommandError(f"no password for {user}: set ${PASSWORD_ENV} or type it at the prompt")
    return password


class _Session(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the session to every call."""

    def __init__(self, metadata: Metadata) -> None:
        self._metadata = metadata

    def _with_session(self, details: Any) -> Any:
        return details._replace(metadata=(*(details.metadata or ()), *self._metadata))

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_session(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_session(details), request)


def vcenter_of_another_domain(endpoints: Endpoints, vcenter: str, user: str, password: str) -> VCenterClient:
    """A client of `vcenter`, logged in at its login address; its certificate checked against its
    domain's CA from the estate's PKI."""
    for domain in endpoints.data["sso_domains"]:
        found = next((vc for vc in domain["vcenters"] if vc["name"] == vcenter), None)
        if found is None:
            continue
        if not found.get("login_address"):
            raise CommandError(f"{vcenter} has no login address: no user of {domain['name']} has a password")
        trust = (endpoints.pki / domain["name"] / "ca.pem").read_bytes()
        channel = server_only_channel(found["login_address"], trust, Identity(domain["name"], "vcenter", vcenter))
        try:
            _, metadata = log_in(channel, user, password, LOGIN_SECONDS)
        except BaseException:
            channel.close()
            raise
        return VCenterClient(vcenter, found["login_address"], grpc.intercept_channel(channel, _Session(metadata)))
    raise CommandError(f"no vCenter {vcenter!r} in this estate")

"""Who may call what, per part. Each policy raises NoPermission / NotAuthenticated, or returns the
lane whose threads serve the call (users', admins' or peers')."""

from __future__ import annotations

from collections.abc import Mapping

from ..crypto.identity import Identity
from ..model.faults import NoPermission, NotAuthenticated
from .admission import Lane
from .auth import Policy, is_health_or_reflection, method_name, service_of

VCENTER = "linkedmode.v1.VCenter"
LINKED_MODE = "linkedmode.v1.LinkedMode"
EMULATOR = "linkedmode.v1.Emulator"
SESSION_MANAGER = "linkedmode.v1.SessionManager"
HOST_AGENT = "linkedmode.v1.HostAgent"

# VCenter methods a read-only user may call; every other method needs the admin role.
READ_ONLY_METHODS = frozenset({
    "GetAbout", "ListLinkedVCenters", "ListDatacenters", "ListClusters", "ListHosts", "ListDatastores", "ListNetworks", "ListVms",
    "GetDatacenter", "GetCluster", "GetHost", "GetDatastore", "GetNetwork", "GetVm", "ListSnapshots",
    "GetTask", "ListTasks", "WaitTask", "QueryEvents", "WatchEvents", "QueryPerf", "ListHostAnnouncements",
})


def _authenticated(principal: Identity | None, domain: str, method: str) -> Identity:
    if principal is None:
        raise NotAuthenticated(f"{method_name(method)} needs a client certificate with an identity of {domain}")
    if principal.domain != domain:
        raise NoPermission(f"{principal} is not a principal of the SSO domain {domain}", object=str(principal))
    return principal


def vcenter_policy(domain: str, name: str, roles: Mapping[str, str]) -> Policy:
    """The listener of vCenter `name`: VCenter and Emulator by user role, LinkedMode for peer vCenters."""

    def lane(who: Identity) -> Lane:
        if who.kind != "user":
            return Lane.PEER
        return Lane.ADMIN if roles.get(who.name) == "admin" else Lane.USER

    def authorize(principal: Identity | None, method: str) -> Lane:
        who = _authenticated(principal, domain, method)
        service, call = service_of(method), method_name(method)
        if is_health_or_reflection(method):
            return lane(who)
        if service == LINKED_MODE:
            if who.kind != "vcenter" or who.name == name:
                raise NoPermission(f"LinkedMode.{call} is only for the other vCenters of {domain}; {who} is not one", object=str(who))
            return Lane.PEER
        if service in (VCENTER, EMULATOR):
            if who.kind != "user":
                raise NoPermission(f"{service.rsplit('.', 1)[1]}.{call} is for users of {domain}; {who} is not a user", object=str(who))
            role = roles.get(who.name)
            if role is None:
                raise NoPermission(f"user {who.name} has no role on {name}", object=str(who))
            if role == "admin" or (service == VCENTER and call in READ_ONLY_METHODS):
                return lane(who)
            raise NoPermission(f"user {who.name} ({role}) may not call {call}: it needs the admin role", object=str(who), privilege="admin")
        raise NoPermission(f"{service} is not served here", object=str(who))

    return authorize


# LinkedMode calls a vCenter of another SSO domain makes under a user's session, to move a VM here (row X7).
MIGRATION_METHODS = frozenset({
    "CheckMigration", "ReserveMigration", "PrepareMigration", "CommitMigration", "FinishMigration", "GetArrivalState",
    "AbortMigration",
})


def login_policy(domain: str, name: str, roles: Mapping[str, str]) -> Policy:
    """The login listener of vCenter `name`: every caller is a user of `domain` who logged in. VCenter
    by role as on the main listener; the LinkedMode calls of an incoming migration for admins only (the
    move proceeds under the user's role); nothing of Emulator or of linking."""
    by_role = vcenter_policy(domain, name, roles)

    def authorize(principal: Identity | None, method: str) -> Lane:
        who = _authenticated(principal, domain, method)
        service, call = service_of(method), method_name(method)
        if service == SESSION_MANAGER or is_health_or_reflection(method):
            return Lane.USER
        if service == VCENTER:
            return by_role(who, method)
        if service == LINKED_MODE and call in MIGRATION_METHODS:
            role = roles.get(who.name)
            if role != "admin":
                raise NoPermission(f"user {who.name} ({role or 'no role'}) may not move a VM to {name}: "
                                   "it needs the admin role", object=str(who), privilege="admin")
            return Lane.PEER
        raise NoPermission(f"{service.rsplit('.', 1)[-1]}.{call} is not served at the login address of {name}", object=str(who))

    return authorize


def host_policy(domain: str, host: str, managed_by: str) -> Policy:
    """The listener of a host: HostAgent only for the vCenter that manages it."""

    def authorize(principal: Identity | None, method: str) -> Lane:
        who = _authenticated(principal, domain, method)
        if is_health_or_reflection(method):
            return Lane.PEER if who.kind == "vcenter" else Lane.USER
        if who.kind != "vcenter" or who.name != managed_by:
            raise NoPermission(f"host {host} is managed by {managed_by}; {who} may not call {method_name(method)}", object=str(who))
        return Lane.PEER

    return authorize

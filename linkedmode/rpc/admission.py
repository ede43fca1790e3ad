"""Who may hold how much of a listener: calls and streams at once, per principal and per lane.

Every call is admitted before its servicer runs and released when it ends. Users and admins are counted
one by one (calls and streams each up to their limit), and the streams of users who are not admins
together as well, so users holding every stream the listener allows still leave an admin its own;
peers (vCenters calling a vCenter or a host) are parts of the estate and only counted. A call over a limit is refused at once
with UnableToAllocateResource, which travels as RESOURCE_EXHAUSTED. Nothing here knows gRPC.
"""

from __future__ import annotations

import enum
import threading
from collections import Counter
from dataclasses import dataclass

from ..crypto.identity import Identity
from ..model.faults import UnableToAllocateResource
from ..topology.spec import ListenerLimits


class Lane(enum.Enum):
    """Whose threads serve a call: users', admins' or peers'. The policy says which, from the principal."""

    USER = "user"
    ADMIN = "admin"
    PEER = "peer"


@dataclass(frozen=True)
class Ticket:
    """One admitted call or stream, given back with Admission.release."""

    principal: str
    lane: Lane
    streaming: bool


class Admission:
    def __init__(self, limits: ListenerLimits, part: str) -> None:
        self.limits = limits
        self._part = part
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._streams: Counter[str] = Counter()
        self._user_streams = 0

    def admit(self, principal: Identity, lane: Lane, *, streaming: bool) -> Ticket:
        """Counts a call or stream of `principal`; raises UnableToAllocateResource when over a limit."""
        who = str(principal)
        with self._lock:
            if lane is not Lane.PEER:
                self._check(who, lane, streaming)
            if streaming:
                self._streams[who] += 1
                if lane is Lane.USER:
                    self._user_streams += 1
            else:
                self._calls[who] += 1
        return Ticket(who, lane, streaming)

    def _check(self, who: str, lane: Lane, streaming: bool) -> None:
        limits = self.limits
        if streaming and self._streams[who] >= limits.streams_per_principal:
            raise UnableToAllocateResource(
                f"{who} has {self._streams[who]} streams open on {self._part}; at most "
                f"{limits.streams_per_principal} are allowed: close one, or try again later",
                object=who, limit="streams_per_principal")
        if streaming and lane is Lane.USER and self._user_streams >= limits.user_streams:
            raise UnableToAllocateResource(
                f"{self._part} has {self._user_streams} streams of users open, its limit: try again later",
                object=who, limit="user_streams")
        if not streaming and self._calls[who] >= limits.calls_per_principal:
            raise UnableToAllocateResource(
                f"{who} has {self._calls[who]} calls in progress on {self._part}; at most "
                f"{limits.calls_per_principal} are allowed at once: try again when one ends",
                object=who, limit="calls_per_principal")

    def release(self, ticket: Ticket) -> None:
        with self._lock:
            held = self._streams if ticket.streaming else self._calls
            held[ticket.principal] -= 1
            if held[ticket.principal] <= 0:
                del held[ticket.principal]
            if ticket.streaming and ticket.lane is Lane.USER:
                self._user_streams -= 1

    def held(self, principal: Identity) -> tuple[int, int]:
        """(calls, streams) that `principal` holds now."""
        who = str(principal)
        with self._lock:
            return self._calls[who], self._streams[who]

"""The user sessions of one vCenter: log in with a password, then act as that user by session id.

Sessions live in memory only: a restart of the vCenter ends them all. The id a caller holds is a
random 256-bit secret; only its SHA-256 is kept, so what this object holds cannot be replayed.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..crypto.identity import Identity
from ..crypto.passwords import verify_password
from ..model.faults import InvalidLogin, NotAuthenticated
from ..topology.spec import UserSpec

IDLE_SECONDS = 1800.0     # vSphere's default session timeout: 30 minutes without a call
MAX_SESSIONS = 1000       # beyond this, the session idle the longest ends first


@dataclass(frozen=True)
class UserSession:
    """A logged-in user, as the caller sees it (the id is the caller's secret, never stored here)."""

    session_id: str
    user: Identity
    role: str
    idle_seconds: float


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def user_name_in(domain: str, given: str) -> str:
    """"administrator" or "administrator@corp.local" -> "administrator"; "" for another domain's user."""
    name, at, user_domain = given.partition("@")
    if at and user_domain.lower() != domain.lower():
        return ""
    return name


class Sessions:
    def __init__(self, vcenter: str, domain: str, users: Iterable[UserSpec], *, idle_seconds: float = IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._vcenter = vcenter
        self._domain = domain
        self._users = {u.name: u for u in users}
        self._idle = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, tuple[Identity, float]] = {}   # SHA-256 of the id -> user, last use

    def authenticate(self, user_name: str, password: str) -> Identity:
        """The user a name and password stand for, or InvalidLogin (the same for an unknown user, one
        without a password and a wrong password)."""
        name = user_name_in(self._domain, user_name)
        user = self._users.get(name)
        stored = user.password_hash if user is not None and user.password_hash else None
        if not verify_password(password, stored) or user is None:
            raise InvalidLogin(f"cannot log in to {self._vcenter}: incorrect user name or password", object=self._vcenter)
        return Identity(self._domain, "user", user.name)

    def open(self, user: Identity) -> UserSession:
        """A new session for a user who has just authenticated."""
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            if len(self._active) >= MAX_SESSIONS:
                del self._active[min(self._active, key=lambda k: self._active[k][1])]
            self._active[_digest(session_id)] = (user, self._clock())
        return UserSession(session_id, user, self._users[user.name].role, self._idle)

    def principal(self, session_id: str) -> Identity:
        """The user a session id stands for; NotAuthenticated when it is unknown, ended or idle too long."""
        key = _digest(session_id)
        with self._lock:
            found = self._active.get(key)
            if found is None or self._clock() - found[1] > self._idle:
                self._active.pop(key, None)
                raise NotAuthenticated(f"no valid session on {self._vcenter}: log in first (SessionManager.Login)")
            self._active[key] = (found[0], self._clock())
            return found[0]

    def logout(self, session_id: str) -> None:
        with self._lock:
            self._active.pop(_digest(session_id), None)

    def count(self) -> int:
        with self._lock:
            self._expire()
            return len(self._active)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, (_, used) in self._active.items() if now - used > self._idle]:
            del self._active[key]

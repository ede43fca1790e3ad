"""Who calls a login listener: on SessionManager.Login, the user its name and password stand for; on
every other call, the user of the session named in the metadata `vmware-api-session-id`.

Checking a password costs tens of milliseconds of KDF, so it runs in a thread, never on the event loop,
and at most MAX_LOGINS checks run or wait at once on one listener: beyond that a Login is refused at
once (UnableToAllocateResource) rather than queued, so a flood of guesses cannot pile up work.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol

import grpc

from ..crypto.identity import Identity
from ..model.faults import InvalidArgument, NotAuthenticated, UnableToAllocateResource
from ..v1 import session_pb2, session_pb2_grpc
from .auth import Authenticator, Context, method_name
from .faults import fault_from_error

SESSION_HEADER = "vmware-api-session-id"
SESSION_MANAGER = "linkedmode.v1.SessionManager"
LOGIN = f"/{SESSION_MANAGER}/Login"
MAX_LOGINS = 16


class PasswordAuthority(Protocol):
    def authenticate(self, user_name: str, password: str) -> Identity: ...   # raises InvalidLogin
    def principal(self, session_id: str) -> Identity: ...                    # raises NotAuthenticated


Metadata = tuple[tuple[str, str], ...]


def log_in(channel: grpc.Channel, user_name: str, password: str, timeout: float) -> tuple[session_pb2.UserSession, Metadata]:
    """The client's side: a session at a login listener, and the metadata that names it on each later
    call; a refusal raises its Fault (InvalidLogin for a wrong user or password)."""
    try:
        session = session_pb2_grpc.SessionManagerStub(channel).Login(
            session_pb2.LoginRequest(user_name=user_name, password=password), timeout=timeout)
    except grpc.RpcError as error:
        raise fault_from_error(error) from None
    return session, ((SESSION_HEADER, session.session_id),)


def session_id_of(metadata: Any) -> str:
    """The session a call names in its metadata, or ""."""
    return next((str(value) for key, value in metadata or () if key == SESSION_HEADER), "")


def password_authenticator(authority: PasswordAuthority, *, max_logins: int = MAX_LOGINS) -> Authenticator:
    slots = threading.BoundedSemaphore(max_logins)

    async def check_password(user_name: str, password: str) -> Identity:
        if not slots.acquire(blocking=False):
            raise UnableToAllocateResource(f"{max_logins} logins are being checked already: try again")
        try:
            return await asyncio.get_running_loop().run_in_executor(None, authority.authenticate, user_name, password)
        finally:
            slots.release()

    async def authenticate(context: Context, method: str, request: Any) -> Identity:
        if method == LOGIN:
            user_name, password = getattr(request, "user_name", ""), getattr(request, "password", "")
            if not isinstance(user_name, str) or not isinstance(password, str) or not user_name:
                raise InvalidArgument("Login needs user_name and password", argument="user_name")
            return await check_password(user_name, password)
        session_id = session_id_of(context.invocation_metadata())
        if not session_id:
            raise NotAuthenticated(f"{method_name(method)} needs a session: log in with SessionManager.Login and send "
                                   f"its session_id as `{SESSION_HEADER}`")
        return authority.principal(session_id)

    return authenticate

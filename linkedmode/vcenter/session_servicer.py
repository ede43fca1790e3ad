"""SessionManager: logging in with a password at a vCenter's login address (row X7).

The authorising layer has already checked the password (rpc/login.py) by the time Login runs; Login opens
the session and hands its id back, Logout ends the session the call names."""

from __future__ import annotations

import grpc

from ..rpc.auth import current_principal
from ..rpc.login import session_id_of
from ..v1 import session_pb2, session_pb2_grpc
from .sessions import Sessions


class SessionManagerServicer(session_pb2_grpc.SessionManagerServicer):
    def __init__(self, sessions: Sessions, vcenter: str) -> None:
        self.sessions = sessions
        self.vcenter = vcenter

    def Login(self, request: session_pb2.LoginRequest, context: grpc.ServicerContext) -> session_pb2.UserSession:
        session = self.sessions.open(current_principal())
        return session_pb2.UserSession(session_id=session.session_id, user_name=session.user.name,
                                       sso_domain=session.user.domain, role=session.role, vcenter=self.vcenter,
                                       idle_timeout_seconds=session.idle_seconds)

    def Logout(self, request: session_pb2.LogoutRequest, context: grpc.ServicerContext) -> session_pb2.LogoutResponse:
        self.sessions.logout(session_id_of(context.invocation_metadata()))
        return session_pb2.LogoutResponse()

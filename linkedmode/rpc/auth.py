"""One interceptor: the peer certificate becomes a principal, the part's policy authorises the call,
the request is checked against the limits every request keeps (validation.py), and a Fault raised by
the servicer becomes the call's status.

Servicers stay pure translation: they read the principal with `current_principal()` when they need it
(tasks record who started them) and raise Faults; nothing else of security or error mapping is theirs.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator

import grpc

from ..crypto.identity import Identity, identity_of_certificate
from ..model import faults
from .faults import abort
from .validation import check_request, lenient

log = logging.getLogger(__name__)

Policy = Callable[[Identity | None, str], None]   # raises NoPermission / NotAuthenticated

_principal: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("principal", default=None)

HEALTH_AND_REFLECTION = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/", "/grpc.reflection.v1.ServerReflection/")


def current_principal() -> Identity:
    principal = _principal.get()
    if principal is None:
        raise faults.NotAuthenticated("no authenticated principal for this call")
    return principal


def principal_of(context: grpc.ServicerContext) -> Identity | None:
    certs = context.auth_context().get("x509_pem_cert")
    if not certs:
        return None
    return identity_of_certificate(certs[0])


def is_health_or_reflection(method: str) -> bool:
    return method.startswith(HEALTH_AND_REFLECTION)


def service_of(method: str) -> str:
    """"/linkedmode.v1.VCenter/GetVm" -> "linkedmode.v1.VCenter"."""
    return method.split("/")[1] if method.count("/") >= 2 else ""


def method_name(method: str) -> str:
    return method.rsplit("/", 1)[-1]


class AuthorizationInterceptor(grpc.ServerInterceptor):
    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.request_deserializer is not None and not handler.request_streaming:
            handler = handler._replace(request_deserializer=lenient(handler.request_deserializer))
        if handler.unary_unary:
            return handler._replace(unary_unary=self._guard(handler.unary_unary, method, streaming=False))
        if handler.unary_stream:
            return handler._replace(unary_stream=self._guard(handler.unary_stream, method, streaming=True))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._guard(handler.stream_unary, method, streaming=False))
        return handler._replace(stream_stream=self._guard(handler.stream_stream, method, streaming=True))

    def _guard(self, behavior, method: str, *, streaming: bool):  # type: ignore[no-untyped-def]
        def authorised(request, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
            principal = principal_of(context)
            try:
                self._policy(principal, method)
            except faults.Fault as fault:
                log.info("refused %s for %s: %s", method, principal or "anonymous", fault)
                abort(context, fault)
            token = _principal.set(principal)
            try:
                check_request(request)
                return behavior(request, context)
            except faults.Fault as fault:
                abort(context, fault)
            except Exception as error:  # a bug: say so, keep serving
                if context.code() is not None:   # the servicer aborted the call itself
                    raise
                log.exception("%s failed", method)
                abort(context, faults.SystemError(f"internal error in {method_name(method)}: {type(error).__name__}"))
            finally:
                _principal.reset(token)

        def authorised_stream(request, context: grpc.ServicerContext) -> Iterator:  # type: ignore[no-untyped-def]
            principal = principal_of(context)
            try:
                self._policy(principal, method)
            except faults.Fault as fault:
                log.info("refused %s for %s: %s", method, principal or "anonymous", fault)
                abort(context, fault)
            token = _principal.set(principal)
            try:
                check_request(request)
                yield from behavior(request, context)
            except faults.Fault as fault:
                abort(context, fault)
            except Exception as error:
                if context.code() is not None or not context.is_active():
                    raise
                log.exception("%s failed", method)
                abort(context, faults.SystemError(f"internal error in {method_name(method)}: {type(error).__name__}"))
            finally:
                _principal.reset(token)

        return authorised_stream if streaming else authorised

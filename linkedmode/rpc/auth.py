"""One handler layer: the peer certificate becomes a principal, the part's policy authorises the call
and names its lane, the principal is admitted under the listener's limits (admission.py), the request
is checked against the limits every request keeps (validation.py), and a Fault raised by the servicer
becomes the call's status.

Calls are served on an event loop. A servicer method written as a coroutine or an async generator
runs there, and so does a plain method marked `@on_event_loop` (a read of memory that never waits:
a hop to a worker thread and back would cost it more than its work); any other plain method or
generator runs in the worker threads of the call's lane (users', admins' or peers'), so users can
fill their own threads but never an admin's or a peer's.

Servicers stay pure translation: they read the principal with `current_principal()` when they need it
(tasks record who started them) and raise Faults; nothing else of security or error mapping is theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any, NoReturn, TypeVar

import grpc
from grpc import aio

from ..crypto.identity import Identity, identity_of_certificate
from ..model import faults
from .admission import Admission, Lane, Ticket
from .context import SyncAbort, SyncContext
from .faults import abort
from .layers import HandlerLayer
from .validation import check_request, lenient

log = logging.getLogger(__name__)

Policy = Callable[[Identity | None, str], Lane]   # raises NoPermission / NotAuthenticated
# Who calls: from the call's context, its method and its request (a unary request; None for client
# streams). The default reads the peer certificate; a login listener reads a password or a session.
Authenticator = Callable[[Any, str, Any], Awaitable[Identity | None]]
Context = Any   # grpc.aio.ServicerContext: grpc ships no types

_principal: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("principal", default=None)

HEALTH_AND_REFLECTION = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/", "/grpc.reflection.v1.ServerReflection/")

_END = object()   # what a sync generator's step returns once it is exhausted
_ON_EVENT_LOOP = "_linkedmode_on_event_loop"

F = TypeVar("F", bound=Callable[..., Any])


def on_event_loop(method: F) -> F:
    """Marks a plain servicer method to run on the event loop, not in a worker thread: only for work
    that reads memory and never blocks (no lock a writer holds across I/O, no I/O, no waiting)."""
    setattr(method, _ON_EVENT_LOOP, True)
    return method


def runs_on_event_loop(behavior: Callable[..., Any]) -> bool:
    return bool(getattr(behavior, _ON_EVENT_LOOP, False))


def current_principal() -> Identity:
    principal = _principal.get()
    if principal is None:
        raise faults.NotAuthenticated("no authenticated principal for this call")
    return principal


def principal_of(context: Context | grpc.ServicerContext) -> Identity | None:
    certs = context.auth_context().get("x509_pem_cert")
    if not certs:
        return None
    return identity_of_certificate(certs[0])


async def certificate_principal(context: Context, method: str, request: Any) -> Identity | None:
    return principal_of(context)


def is_health_or_reflection(method: str) -> bool:
    return method.startswith(HEALTH_AND_REFLECTION)


def service_of(method: str) -> str:
    """"/linkedmode.v1.VCenter/GetVm" -> "linkedmode.v1.VCenter"."""
    return method.split("/")[1] if method.count("/") >= 2 else ""


def method_name(method: str) -> str:
    return method.rsplit("/", 1)[-1]


class AuthorizationLayer(HandlerLayer):
    def __init__(self, policy: Policy, admission: Admission, workers: Mapping[Lane, Executor],
                 authenticate: Authenticator = certificate_principal) -> None:
        self._policy = policy
        self._authenticate = authenticate
        self._admission = admission
        self._workers = workers

    def wrap(self, handler: Any, method: str) -> Any:
        if handler.request_deserializer is not None and not handler.request_streaming:
            handler = handler._replace(request_deserializer=lenient(handler.request_deserializer))
        streams_in = handler.request_streaming      # an authenticator reads a unary request only
        if handler.unary_unary:
            return handler._replace(unary_unary=self._call(handler.unary_unary, method, streams_in))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._call(handler.stream_unary, method, streams_in))
        if handler.unary_stream:
            return handler._replace(unary_stream=self._stream(handler.unary_stream, method, streams_in))
        return handler._replace(stream_stream=self._stream(handler.stream_stream, method, streams_in))

    async def _admit(self, context: Context, method: str, request: Any, *, streaming: bool) -> tuple[Identity, Ticket]:
        principal = None
        try:
            principal = await self._authenticate(context, method, request)
            lane = self._policy(principal, method)
            if principal is None:   # a policy lets no anonymous call through; this keeps it so
                raise faults.NotAuthenticated(f"{method_name(method)} needs a client certificate")
            return principal, self._admission.admit(principal, lane, streaming=streaming)
        except faults.Fault as fault:
            log.info("refused %s for %s: %s", method, principal or "anonymous", fault)
            await abort(context, fault)

    async def _failed(self, context: Context, method: str, error: Exception) -> NoReturn:
        """Ends the call with what a servicer raised: its Fault, its own status, or an internal error."""
        if isinstance(error, faults.Fault):
            await abort(context, error)
        if isinstance(error, SyncAbort):
            await context.abort(error.code, error.details, error.trailing_metadata)
        log.error("%s failed", method, exc_info=error)
        await abort(context, faults.SystemError(f"internal error in {method_name(method)}: {type(error).__name__}"))

    def _call(self, behavior: Callable[..., Any], method: str, streams_in: bool) -> Callable[[Any, Context], Awaitable[Any]]:
        is_coroutine, inline = inspect.iscoroutinefunction(behavior), runs_on_event_loop(behavior)

        async def authorised(request: Any, context: Context) -> Any:
            principal, ticket = await self._admit(context, method, None if streams_in else request, streaming=False)
            in_thread = False
            try:
                check_request(request)
                if is_coroutine:
                    _principal.set(principal)   # this call's own task context
                    return await behavior(request, context)
                if inline:
                    return self._on_loop(principal, behavior, request, context)
                in_thread = True
                return await self._in_thread(ticket, principal, behavior, request, context)
            except (aio.AbortError, asyncio.CancelledError):
                raise
            except Exception as error:
                await self._failed(context, method, error)
            finally:
                if not in_thread:
                    self._admission.release(ticket)

        return authorised

    @staticmethod
    def _on_loop(principal: Identity, behavior: Callable[..., Any], request: Any, context: Context) -> Any:
        sync_context = SyncContext(context)
        token = _principal.set(principal)
        try:
            return behavior(request, sync_context)
        finally:
            _principal.reset(token)
            sync_context.finish()

    async def _in_thread(self, ticket: Ticket, principal: Identity, behavior: Callable[..., Any], request: Any,
                         context: Context) -> Any:
        """Runs a sync method in its lane's threads; the ticket is given back when the thread is done."""
        sync_context = SyncContext(context)

        def run() -> Any:
            token = _principal.set(principal)
            try:
                return behavior(request, sync_context)
            finally:
                _principal.reset(token)
                self._admission.release(ticket)

        try:
            future = self._workers[ticket.lane].submit(run)
        except RuntimeError:   # the listener is stopping: its threads take nothing more
            self._admission.release(ticket)
            raise
        try:
            return await asyncio.wrap_future(future)
        finally:
            sync_context.finish()

    def _stream(self, behavior: Callable[..., Any], method: str, streams_in: bool) -> Callable[[Any, Context], AsyncIterator[Any]]:
        async def authorised_stream(request: Any, context: Context) -> AsyncIterator[Any]:
            principal, ticket = await self._admit(context, method, None if streams_in else request, streaming=True)
            try:
                check_request(request)
                if inspect.isasyncgenfunction(behavior):
                    _principal.set(principal)   # this call's own task context
                    async for item in behavior(request, context):
                        yield item
                else:
                    async for item in self._sync_stream(ticket.lane, principal, behavior, request, context):
                        yield item
            except (aio.AbortError, asyncio.CancelledError):
                raise
            except Exception as error:
                await self._failed(context, method, error)
            finally:
                self._admission.release(ticket)

        return authorised_stream

    async def _sync_stream(self, lane: Lane, principal: Identity, behavior: Callable[..., Any], request: Any,
                           context: Context) -> AsyncIterator[Any]:
        """A sync generator, each step in the lane's threads (a thread is held only while a step runs)."""
        sync_context = SyncContext(context)
        steps: Iterator[Any] = iter(behavior(request, sync_context))

        def step() -> Any:
            token = _principal.set(principal)
            try:
                return next(steps, _END)
            finally:
                _principal.reset(token)

        def close() -> None:
            with contextlib.suppress(ValueError):   # a step still runs; it sees the call inactive and ends by itself
                getattr(steps, "close", lambda: None)()

        try:
            while (item := await asyncio.wrap_future(self._workers[lane].submit(step))) is not _END:
                yield item
        finally:
            sync_context.finish()
            with contextlib.suppress(RuntimeError):   # the listener is stopping: its threads are gone
                self._workers[lane].submit(close)

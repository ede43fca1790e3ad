"""A gRPC server for one part: mutual TLS, the authorising layer, limits, health and reflection.

The servers of a process share one event loop in a thread of its own (grpc's aio poller hands
every completion to every event loop of the process through one socket they all read, so each more
loop costs each call one more wake-up: with 66 parts in one process that was most of a call's CPU).
Calls are admitted under the part's ListenerLimits and served by the worker threads of their lane
(users', admins', peers'); streams written as async generators wait on the loop and hold no thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import uvloop
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from ..crypto.pki import Credential
from ..topology.spec import ListenerLimits
from .admission import Admission, Lane
from .auth import Authenticator, AuthorizationLayer, Policy, certificate_principal
from .layers import HandlerLayer, LayeredHandlers
from .tls import login_server_credentials, server_credentials

# (add_XServicer_to_server, servicer instance, full service name)
ServiceBinding = tuple[Callable[[Any, Any], None], object, str]   # each add_ function takes its own servicer type

T = TypeVar("T")

START_TIMEOUT = 10.0
STOP_MARGIN = 5.0       # beyond the grace period, for the listener to close
PING_TIMEOUT_MS = 20_000
MIN_CLIENT_PING_MS = 10_000   # clients keep watch streams alive every 30 s (tls.CHANNEL_OPTIONS)


REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


class GenericHandlersOnly:
    """The server as the generated `add_XServicer_to_server` functions see it, taking each service's
    generic handler and not its registered methods. grpc's asyncio server waits on one pending future
    per registered method for every call it accepts (asyncio.wait over all of them), so with the
    vCenter's 60 methods that wait cost more than serving the call; a generic handler is a dict lookup.
    The services go behind the server's one LayeredHandlers."""

    def __init__(self, handlers: LayeredHandlers) -> None:
        self._handlers = handlers

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self._handlers.add(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        """Not passed on: the same handlers arrive through add_generic_rpc_handlers."""


def serve_reflection(names: list[str], server: GenericHandlersOnly) -> None:
    """Server reflection as `grpc.reflection.v1alpha` and as `grpc.reflection.v1`, which current generic
    clients ask for first. The two have the same messages under another package name, so one servicer
    answers both, its messages read and written with v1alpha's classes."""
    servicer = reflection.aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    info = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo, request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": info}),))


def server_options(limits: ListenerLimits) -> list[tuple[str, int]]:
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", limits.max_message_bytes),
        ("grpc.keepalive_time_ms", int(limits.keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", PING_TIMEOUT_MS),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", MIN_CLIENT_PING_MS),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_connection_idle_ms", int(limits.idle_seconds * 1000)),
        ("grpc.server_handshake_timeout_ms", int(limits.handshake_seconds * 1000)),   # gRPC's own: 120 s
    ]


class EventLoopThread:
    """An asyncio event loop running in a daemon thread, driven from other threads.

    The loop is uvloop's: the listeners' loop runs every call of the process, and asyncio's own loop,
    written in Python, spent about a tenth of a call's CPU on its turns (docs/performance.md)."""

    def __init__(self, name: str) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"{name}-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def on_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def stop(self, *, wait: bool = True) -> None:
        """Cancels what still runs on the loop, then ends the thread; waits for it unless told not to
        (or when called from it)."""

        async def drain() -> None:
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        if self.loop.is_closed():
            return
        try:
            future = asyncio.run_coroutine_threadsafe(drain(), self.loop)
            future.add_done_callback(lambda _: self.loop.call_soon_threadsafe(self.loop.stop))
        except RuntimeError:   # stopped meanwhile
            return
        if wait and not self.on_loop():
            self._thread.join(STOP_MARGIN)


class SharedLoop:
    """The one event loop the listeners of a process run on: made for the first, ended after the last."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: EventLoopThread | None = None
        self._users = 0

    def acquire(self) -> EventLoopThread:
        with self._lock:
            if self._loop is None:
                self._loop = EventLoopThread(self._name)
            self._users += 1
            return self._loop

    def release(self, loop: EventLoopThread, *, wait: bool) -> None:
        with self._lock:
            if loop is not self._loop:
                return
            self._users -= 1
            if self._users:
                return
            self._loop = None
        loop.stop(wait=wait)


LISTENER_LOOP = SharedLoop("listeners")


class Listener:
    """The aio server of a part, stoppable from any thread (crash() stops it with grace 0)."""

    def __init__(self, server: aio.Server, loop: EventLoopThread, health: HealthServicer,
                 workers: dict[Lane, ThreadPoolExecutor]) -> None:
        self._server = server
        self._loop = loop
        self._health = health
        self._workers = workers
        self._stopped = threading.Event()

    def stop(self, grace: float | None = 0.5) -> threading.Event:
        """Stops the listener and returns an event set once it has stopped. With grace 0 (a part that
        dies) it returns as soon as the listener has closed and its calls are cancelled: what is left
        of the loop ends behind it."""
        if self._stopped.is_set():
            return self._stopped

        async def shut() -> None:
            if grace:
                await self._health.enter_graceful_shutdown()
            await self._server.stop(grace)

        if self._loop.on_loop():
            raise RuntimeError("a listener is stopped from a thread of its own, not from its event loop")
        try:
            self._loop.call(shut(), (grace or 0) + STOP_MARGIN)
        finally:
            for pool in self._workers.values():
                pool.shutdown(wait=False, cancel_futures=True)
            LISTENER_LOOP.release(self._loop, wait=bool(grace))
            self._stopped.set()
        return self._stopped


class RunningServer:
    def __init__(self, server: Listener, address: str, admission: Admission) -> None:
        self.server = server
        self.address = address
        self.admission = admission

    def stop(self, grace: float | None = 0.5) -> None:
        self.server.stop(grace).wait()


def serve(
    address: str,
    credential: Credential,
    policy: Policy,
    services: Iterable[ServiceBinding],
    *,
    limits: ListenerLimits | None = None,
    layers: Iterable[HandlerLayer] = (),
    authenticate: Authenticator | None = None,
) -> RunningServer:
    """Starts a server on `address` ("127.0.0.1:0" picks a free port) and returns where it listens.

    By default callers show a certificate of the SSO domain (mutual TLS). With `authenticate`, the
    listener asks for none (server-only TLS) and `authenticate` says who calls (a login listener).
    `layers` see each call before the authorising one (metrics count refused calls too)."""
    outer = list(layers)
    limits = limits or ListenerLimits()
    name = credential.identity.name
    admission = Admission(limits, name)
    workers = {
        Lane.USER: ThreadPoolExecutor(limits.user_workers, thread_name_prefix=f"{name}-user"),
        Lane.ADMIN: ThreadPoolExecutor(limits.admin_workers, thread_name_prefix=f"{name}-admin"),
        Lane.PEER: ThreadPoolExecutor(limits.peer_workers, thread_name_prefix=f"{name}-peer"),
    }
    loop = LISTENER_LOOP.acquire()

    async def start() -> tuple[aio.Server, HealthServicer, int]:
        authorise = AuthorizationLayer(policy, admission, workers, authenticate or certificate_principal)
        handlers = LayeredHandlers([*outer, authorise])
        server = aio.server(options=server_options(limits))
        server.add_generic_rpc_handlers((handlers,))
        health = HealthServicer()
        generic = GenericHandlersOnly(handlers)
        health_pb2_grpc.add_HealthServicer_to_server(health, generic)
        names = ["grpc.health.v1.Health", reflection.SERVICE_NAME, REFLECTION_V1]
        for add, servicer, service in services:
            add(servicer, generic)
            names.append(service)
            await health.set(service, health_pb2.HealthCheckResponse.SERVING)
        await health.set("", health_pb2.HealthCheckResponse.SERVING)
        serve_reflection(names, generic)
        tls = server_credentials(credential) if authenticate is None else login_server_credentials(credential)
        port = server.add_secure_port(address, tls)
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        await server.start()
        return server, health, port

    try:
        server, health, port = loop.call(start(), START_TIMEOUT)
    except BaseException:
        LISTENER_LOOP.release(loop, wait=True)
        for pool in workers.values():
            pool.shutdown(wait=False)
        raise
    host = address.rsplit(":", 1)[0]
    return RunningServer(Listener(server, loop, health, workers), f"{host}:{port}", admission)

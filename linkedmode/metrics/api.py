"""API calls and their latency, by method, counted by a handler layer placed outside the authorising
one: refused calls count too, under their status code."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from ..rpc.layers import HandlerLayer

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _code(context: Any, failed: bool) -> str:
    """The status a call ended with: what the servicer or an abort set, else OK (or UNKNOWN when it raised)."""
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if failed else "OK"


def _service_and_method(full_method: str) -> tuple[str, str]:
    """"/linkedmode.v1.VCenter/GetVm" -> ("linkedmode.v1.VCenter", "GetVm")."""
    _, service, method = [*full_method.split("/"), "", ""][:3]
    return service, method


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter("linkedmode_api_calls", "gRPC calls served, by service, method and status code",
                             ["service", "method", "code"], registry=registry)
        self.latency = Histogram("linkedmode_api_call_seconds", "time to answer a unary gRPC call, by service and method",
                                 ["service", "method"], buckets=LATENCY_BUCKETS, registry=registry)

        self._calls: dict[tuple[str, str], Any] = {}     # (full method, code) -> its counter
        self._latency: dict[str, Any] = {}               # full method -> its histogram

    def observe(self, full_method: str, code: str, seconds: float | None) -> None:
        """Counts one call; the labelled children are looked up once per method (labels() costs more than inc())."""
        counter = self._calls.get((full_method, code))
        if counter is None:
            counter = self._calls[(full_method, code)] = self.calls.labels(*_service_and_method(full_method), code)
        counter.inc()
        if seconds is not None:
            histogram = self._latency.get(full_method)
            if histogram is None:
                histogram = self._latency[full_method] = self.latency.labels(*_service_and_method(full_method))
            histogram.observe(seconds)


class MetricsLayer(HandlerLayer):
    """Serves one server: the outermost layer, so refused calls count too."""

    def __init__(self, metrics: ApiMetrics) -> None:
        self._metrics = metrics

    def wrap(self, handler: Any, method: str) -> Any:
        if handler.unary_unary:
            return handler._replace(unary_unary=self._unary(handler.unary_unary, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._unary(handler.stream_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=self._stream(handler.unary_stream, method))
        return handler._replace(stream_stream=self._stream(handler.stream_stream, method))

    def _unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[[Any, Any], Awaitable[Any]]:
        async def timed(request: Any, context: Any) -> Any:
            started, failed = time.perf_counter(), True
            try:
                answer = await behavior(request, context)
                failed = False
                return answer
            finally:
                self._metrics.observe(method, _code(context, failed), time.perf_counter() - started)

        return timed

    def _stream(self, behavior: Callable[..., AsyncIterator[Any]], method: str) -> Callable[[Any, Any], AsyncIterator[Any]]:
        async def counted(request: Any, context: Any) -> AsyncIterator[Any]:
            failed = True
            try:
                async for item in behavior(request, context):
                    yield item
                failed = False
            finally:
                self._metrics.observe(method, _code(context, failed), None)   # a stream's length is its caller's

        return counted

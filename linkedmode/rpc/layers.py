"""What a server does around every call (count it, authorise it), as layers that wrap each method's
handler once, behind the one generic handler the server holds.

grpc's own interceptors run on every call: with two of them, the asyncio server awaited a chain of
coroutines per call to find a handler it then rebuilt. Here a method's handler is found and wrapped by
every layer the first time the method is called, and kept: a server's methods do not change once it
serves, so later calls cost one dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import grpc


class HandlerLayer:
    """Says how to wrap a method's handler (a grpc.RpcMethodHandler) for `method`."""

    def wrap(self, handler: Any, method: str) -> Any:
        raise NotImplementedError


class LayeredHandlers(grpc.GenericRpcHandler):
    """Every service of a server behind one generic handler; each method's handler wrapped by
    `layers`, the first the outermost (it sees the call first), and kept per method."""

    def __init__(self, layers: Sequence[HandlerLayer]) -> None:
        self._layers = tuple(reversed(layers))
        self._services: list[Any] = []
        self._handlers: dict[str, Any] = {}

    def add(self, handlers: Iterable[Any]) -> None:
        self._services.extend(handlers)

    def service(self, handler_call_details: Any) -> Any:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is not None:
            return handler
        for service in self._services:
            handler = service.service(handler_call_details)
            if handler is not None:
                break
        else:
            return None          # an unknown method is not kept: callers choose its name
        for layer in self._layers:
            handler = layer.wrap(handler, method)
        self._handlers[method] = handler
        return handler

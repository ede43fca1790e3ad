"""A server interceptor that wraps each method's handler once and keeps it: a server's methods do not
change once it serves, and wrapping on every call cost a namedtuple and closures per call."""

from __future__ import annotations

from typing import Any

from grpc import aio


class WrappingInterceptor(aio.ServerInterceptor):
    """Subclasses say how to wrap a method's handler (`_wrap`); this keeps the result per method."""

    def __init__(self) -> None:
        self._handlers: dict[str, Any] = {}

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]  # grpc's own signature is untyped
        method = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is None:
            handler = await continuation(handler_call_details)
            if handler is None:      # an unknown method is not kept: callers choose its name
                return None
            wrapped = self._handlers[method] = self._wrap(handler, method)
        return wrapped

    def _wrap(self, handler: Any, method: str) -> Any:
        raise NotImplementedError

"""What a servicer written for the threaded API sees of a call served on the event loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import grpc

log = logging.getLogger(__name__)

class SyncAbort(Exception):
    """A sync servicer ended its call: the event loop side sends the status."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Sequence[tuple[str, Any]] = ()) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing_metadata = tuple(trailing_metadata)


class SyncContext:
    """The part of grpc.ServicerContext that sync servicers use, over an asyncio call's context.

    Runs in a worker thread; `finish` is called by the event loop side when the call ends (done,
    failed or cancelled by the client), after which `is_active` is False.
    """

    def __init__(self, context: Any) -> None:   # a grpc.aio.ServicerContext; grpc ships no types
        self._context = context
        self._active = True
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def finish(self) -> None:
        with self._lock:
            self._active = False
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:   # one callback's failure does not keep the others from running
                log.exception("a call-end callback failed")

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Runs `callback` when the call ends (as grpc.ServicerContext.add_callback); False if it has."""
        with self._lock:
            if not self._active:
                return False
            self._callbacks.append(callback)
            return True

    def is_active(self) -> bool:
        return self._active

    def auth_context(self) -> dict[str, list[bytes]]:
        return dict(self._context.auth_context())

    def peer(self) -> str:
        return str(self._context.peer())

    def invocation_metadata(self) -> Any:
        return self._context.invocation_metadata()

    def time_remaining(self) -> float | None:
        remaining = self._context.time_remaining()
        return None if remaining is None else float(remaining)

    def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        raise SyncAbort(code, details)


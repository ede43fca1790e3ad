"""Watch streams on the event loop: a condition notified by other threads wakes the loop's watchers.

A vCenter's state notifies its condition at every change (VCenterState.update). One thread per
condition and event loop waits on it and wakes every watcher of that loop, so a thousand open
WaitTask / WatchEvents streams hold no thread each, only a coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import ClassVar

POLL = 1.0   # how often the feed looks whether its loop or its state has gone


class ChangeFeed:
    """Tells the coroutines of one event loop that a condition was notified."""

    # One feed per (event loop, condition): each listener has its own loop, so two parts never share one.
    _feeds: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[threading.Condition, ChangeFeed]]] = \
        weakref.WeakKeyDictionary()
    _feeds_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def of(cls, condition: threading.Condition, closed: Callable[[], bool]) -> ChangeFeed:
        """The feed of `condition` for the running loop, started on first use."""
        loop = asyncio.get_running_loop()
        with cls._feeds_lock:
            feeds = cls._feeds.setdefault(loop, {})
            feed = feeds.get(condition)
            if feed is None:
                feed = feeds[condition] = cls(condition, closed, loop)
            return feed

    def __init__(self, condition: threading.Condition, closed: Callable[[], bool], loop: asyncio.AbstractEventLoop) -> None:
        self._condition = condition
        self._closed = closed
        self._loop = weakref.ref(loop)
        self._changed = asyncio.Event()
        self._thread = threading.Thread(target=self._follow, name="change-feed", daemon=True)
        self._thread.start()

    def next_change(self) -> asyncio.Event:
        """Take this before reading the state: it is set by the first change after that."""
        return self._changed

    async def wait(self, change: asyncio.Event, timeout: float) -> None:
        """Until `change` happens, or `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(change.wait(), timeout)

    def _wake(self) -> None:   # on the loop
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _follow(self) -> None:
        # Holding the condition's lock between waits means no notify can slip past unseen.
        with self._condition:
            while not self._closed():
                notified = self._condition.wait(POLL)
                loop = self._loop()
                if loop is None or loop.is_closed():
                    break
                if notified or self._closed():
                    try:
                        loop.call_soon_threadsafe(self._wake)
                    except RuntimeError:   # the loop closed meanwhile
                        break
        self._forget()

    def _forget(self) -> None:
        loop = self._loop()
        with self._feeds_lock:
            feeds = self._feeds.get(loop) if loop is not None else None
            if feeds is not None and feeds.get(self._condition) is self:
                del feeds[self._condition]

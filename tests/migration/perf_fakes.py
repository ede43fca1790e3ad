"""A stand-in for what a PerformanceManager reads of its vCenter's state, for the sampler's unit tests."""

from __future__ import annotations

import threading

from linkedmode.model.faults import NotFound


class FakeInventory:
    """What a PerformanceManager reads of its vCenter's state (its VMs and hosts); objects may come and go."""

    def __init__(self, *objects):
        self.objects = list(objects)
        self._lock = threading.Lock()

    def all(self, cls):
        with self._lock:
            return [o for o in self.objects if isinstance(o, cls)]

    def get(self, moid, cls):
        found = [o for o in self.all(cls) if o.moid == moid]
        if not found:
            raise NotFound(f"no {moid}", object=moid)
        return found[0]

    def find(self, cls, moid="", name=""):
        return self.get(moid, cls)

    def add(self, obj):
        with self._lock:
            self.objects.append(obj)

    def remove(self, moid):
        with self._lock:
            self.objects = [o for o in self.objects if o.moid != moid]

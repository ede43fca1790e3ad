"""What a call load is: where it calls, with how many clients, for how long, at what rate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallLoad:
    address: str               # vc-01's API
    pki: str                   # the estate's PKI folder: each client's credential
    vms: int                   # of the estate; vc-01 holds every `vcenters`-th, from vm-00001
    vcenters: int
    clients: int
    seconds: float
    rate: float = 0.0          # calls a second in all; 0: saturated
    max_calls: int = 200_000   # saturated: at most this many in all
    processes: int = 2
    warmup: float = 0.0        # seconds of the same load first, not counted: connections and caches warm up
    call_timeout: float = 10.0  # a call unanswered this long after the load's end counts as DEADLINE_EXCEEDED

    @property
    def names(self) -> list[str]:
        return [f"vm-{n:05d}" for n in range(1, self.vms + 1, self.vcenters)]

"""The calls of one load process: its clients' connections driven by one selector, one call in flight each.

Each client is a user of the estate with its own certificate and connection (`wire.WireConnection`),
calling GetVm on the VMs of vc-01. Every answer is read: a call counts as answered only with status OK
and the VM it asked for; otherwise it counts as failed under its status name (WRONG_ANSWER for another
VM). A call still unanswered `call_timeout` after the load's time counts as DEADLINE_EXCEEDED. Calls
due in the load's first `warmup` seconds run the same way but are not counted.
"""

from __future__ import annotations

import heapq
import selectors
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..crypto.identity import Identity
from ..crypto.pki import credential_paths
from ..v1 import common_pb2, inventory_pb2
from .call_spec import CallLoad
from .scale_estate import BENCH_DOMAIN, bench_user
from .wire import Answer, TlsFiles, WireConnection, grpc_message, request_headers, tls_context

GET_VM = "/linkedmode.v1.VCenter/GetVm"
CONNECT_TIMEOUT = 30.0     # one client's connection and handshake
PACED_START = 0.05         # the first paced call is due this long after the clock starts


@dataclass
class _Client:
    number: int                        # of the whole load: its user is bench_user(number)
    connection: WireConnection
    names: list[str]                   # the VMs it asks for, in turn
    next_call: int = 0                 # paced: the number of its next call in the whole load; saturated: its own count
    counted: int = 0                   # its calls that counted (after the warm-up), answered or failed
    due: float | None = None           # when the call in flight was due; None: none in flight
    asked: str = ""                    # the VM the call in flight asked for
    writing: bool = False              # registered for writes: the socket did not take all it was given


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    warmup_calls: int = 0             # answered or not, in the warm-up


class CallDriver:
    def __init__(self, load: CallLoad, clients: tuple[int, ...]) -> None:
        self.load = load
        self._server = Identity(BENCH_DOMAIN, "vcenter", "vc-01")
        self._headers = request_headers(GET_VM, self._server.dns_name)
        names = load.names
        self._messages = {name: grpc_message(common_pb2.ObjectRef(name=name).SerializeToString()) for name in names}
        self._selector = selectors.DefaultSelector()
        self._clients: list[_Client] = []
        try:
            for n in clients:
                client = _Client(n, self._connect(n), names if load.rate else names[n::load.clients] or names)
                self._clients.append(client)
                self._selector.register(client.connection, selectors.EVENT_READ, client)
        except BaseException:
            self.close()
            raise
        self._timers: list[tuple[float, int, _Client]] = []
        self.outcome = Outcome()
        self._start = self._counted_from = self._deadline = 0.0
        self._budget = self._calls = 0
        self._in_flight = 0                # calls sent and not answered yet

    def _connect(self, number: int) -> WireConnection:
        cert, key, ca = credential_paths(Path(self.load.pki), Identity(BENCH_DOMAIN, "user", bench_user(number)))
        return WireConnection.open(self.load.address, tls_context(TlsFiles(cert, key, ca)), self._server.dns_name,
                                   CONNECT_TIMEOUT)

    def close(self) -> None:
        self._selector.close()
        for client in self._clients:
            client.connection.close()

    def run(self) -> Outcome:
        """Every client's calls, from now: saturated, or on schedule at the load's rate."""
        load, clock = self.load, time.monotonic
        self._start = clock() + (PACED_START if load.rate else 0.0)
        self._counted_from = self._start + load.warmup
        self._deadline = self._counted_from + load.seconds
        self._budget = max(1, load.max_calls // load.clients)
        self._calls = int(load.rate * (load.warmup + load.seconds))
        for client in self._clients:
            if load.rate:
                client.next_call = client.number
                if client.next_call < self._calls:
                    self._at(self._due(client.next_call), client)
            else:
                self._at(self._start, client)
        give_up = self._deadline + load.call_timeout
        while self._timers or self._in_flight:
            now = clock()
            if now >= give_up:
                self._give_up()
                break
            while self._timers and self._timers[0][0] <= now:
                when, _, client = heapq.heappop(self._timers)
                self._send(client, when if load.rate else now)
            wait = min(self._timers[0][0], give_up) - now if self._timers else give_up - now
            for key, events in self._selector.select(max(0.0, wait)):
                client = key.data
                if events & selectors.EVENT_WRITE:
                    client.connection.flush()
                for answer in client.connection.receive():
                    self._answered(client, answer, clock())
                self._watch_writes(client)
        return self.outcome

    @property
    def counted_from(self) -> float:
        """When the counted part of the load began (after the warm-up)."""
        return self._counted_from

    def _due(self, call: int) -> float:
        return self._start + call / self.load.rate

    def _at(self, when: float, client: _Client) -> None:
        heapq.heappush(self._timers, (when, client.number, client))

    def _send(self, client: _Client, due: float) -> None:
        name = client.names[client.next_call % len(client.names)]
        self._in_flight += 1
        client.due, client.asked = due, name
        client.connection.send_call(self._headers, self._messages[name])
        self._watch_writes(client)

    def _watch_writes(self, client: _Client) -> None:
        writing = client.connection.wants_to_write()
        if writing != client.writing:
            client.writing = writing
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
            self._selector.modify(client.connection, events, client)

    def _answered(self, client: _Client, answer: Answer, now: float) -> None:
        if client.due is None:
            return
        due, asked = client.due, client.asked
        self._in_flight -= 1
        client.due = None
        if due < self._counted_from:
            self.outcome.warmup_calls += 1
        else:
            client.counted += 1
            self._record(answer, asked, now - due)
        self._next(client, now)

    def _record(self, answer: Answer, asked: str, latency: float) -> None:
        if answer.status != 0:
            self.outcome.failed.append(answer.status_name)
        elif inventory_pb2.VirtualMachine.FromString(answer.message).name != asked:
            self.outcome.failed.append("WRONG_ANSWER")
        else:
            self.outcome.latencies.append(latency)

    def _next(self, client: _Client, now: float) -> None:
        """A paced client's next call waits for its time, or goes at once if that has passed; a saturated
        client calls again at once, within its budget of counted calls and the load's time."""
        if self.load.rate:
            client.next_call += self.load.clients
            if client.next_call >= self._calls:
                return
            due = self._due(client.next_call)
            if due > now:
                self._at(due, client)
            else:
                self._send(client, due)
            return
        client.next_call += 1
        if client.counted < self._budget and now < self._deadline:
            self._send(client, now)

    def _give_up(self) -> None:
        for client in self._clients:
            if client.due is not None:
                if client.due >= self._counted_from:
                    self.outcome.failed.append("DEADLINE_EXCEEDED")
                self._in_flight -= 1
                client.due = None
        self._timers.clear()


def drive(load: CallLoad, clients: tuple[int, ...], wait_for_all: Any) -> dict[str, Any]:
    """A load process's figures: its clients connect, `wait_for_all()` returns once every process has,
    then the clock starts."""
    driver = CallDriver(load, clients)
    try:
        wait_for_all()
        cpu = time.process_time()
        outcome = driver.run()
        elapsed, cpu = max(1e-3, time.monotonic() - driver.counted_from), time.process_time() - cpu
    finally:
        driver.close()
    return {"latencies": outcome.latencies, "failed": outcome.failed, "warmup_calls": outcome.warmup_calls,
            "elapsed": elapsed, "cpu_s": cpu}

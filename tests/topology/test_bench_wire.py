"""The call benchmark's own HTTP/2 client (bench/wire.py) and its driver (bench/call_driver.py), against a
real listener (rpc.server: mutual TLS, the authorising layer, grpc's HTTP/2) serving a small VCenter.

The client must read every answer right (status, detail, a message across many frames), honour the
server's flow control over thousands of calls, and say clearly when the server ends the connection; the
driver must count what failed under its status, and a call never answered as DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkedmode.bench.call_driver import GET_VM, CallDriver
from linkedmode.bench.call_spec import CallLoad
from linkedmode.bench.scale_estate import BENCH_DOMAIN, bench_user
from linkedmode.bench.wire import Answer, TlsFiles, WireConnection, WireError, grpc_message, request_headers, tls_context
from linkedmode.crypto.domain_pki import Pki, ensure_pki
from linkedmode.crypto.identity import Identity
from linkedmode.crypto.pki import credential_paths
from linkedmode.model.faults import NotFound
from linkedmode.rpc.auth import on_event_loop
from linkedmode.rpc.policies import VCENTER, vcenter_policy
from linkedmode.rpc.server import RunningServer, serve
from linkedmode.topology import parse_topology
from linkedmode.v1 import common_pb2, inventory_pb2, vcenter_pb2_grpc

USERS = [bench_user(n) for n in range(2)]
TOPOLOGY = {"sso_domains": [{"name": BENCH_DOMAIN, "users": [{"name": "administrator", "role": "admin"},
                                                             *({"name": u, "role": "read-only"} for u in USERS)],
                             "vcenters": [{"name": "vc-01", "version": "7.0.3"}]}]}
SERVER = Identity(BENCH_DOMAIN, "vcenter", "vc-01")
BIG = 200_000          # bytes of one VM's extra_config: an answer of many DATA frames
WAIT = 20.0


class SmallVCenter(vcenter_pb2_grpc.VCenterServicer):
    """GetVm by name: "vm-00003" is missing, "vm-00005" answers as another VM, "big" is a large answer,
    "hang" never answers in time (it runs in a lane thread, so the loop stays free)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    @on_event_loop
    def GetVm(self, request, context):
        if request.name in ("vm-00003", "missing"):
            raise NotFound(f"vc-01 has no VirtualMachine named {request.name!r}", object=request.name)
        if request.name == "vm-00005":
            return inventory_pb2.VirtualMachine(name="someone-else")
        if request.name == "big":
            return inventory_pb2.VirtualMachine(name="big", extra_config={"filler": "x" * BIG})
        return inventory_pb2.VirtualMachine(name=request.name)

    def GetHost(self, request, context):
        self.release.wait(WAIT)
        return inventory_pb2.HostSystem(name=request.name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wire") / "pki"
    ensure_pki(root, parse_topology(TOPOLOGY, "wire"))
    return root


@pytest.fixture
def server(pki: Path) -> Iterator[tuple[RunningServer, SmallVCenter]]:
    servicer = SmallVCenter()
    running = serve("127.0.0.1:0", Pki(pki).credential(SERVER), vcenter_policy(BENCH_DOMAIN, "vc-01", {u: "read-only" for u in USERS}),
                    [(vcenter_pb2_grpc.add_VCenterServicer_to_server, servicer, VCENTER)])
    yield running, servicer
    servicer.release.set()
    running.stop(0)


def _connect(pki: Path, address: str) -> WireConnection:
    cert, key, ca = credential_paths(pki, Identity(BENCH_DOMAIN, "user", USERS[0]))
    return WireConnection.open(address, tls_context(TlsFiles(cert, key, ca)), SERVER.dns_name, timeout=10)


def _call(connection: WireConnection, name: str, path: str = GET_VM) -> Answer:
    connection.send_call(request_headers(path, SERVER.dns_name), grpc_message(common_pb2.ObjectRef(name=name).SerializeToString()))
    return _answers(connection, 1)[0]


def _answers(connection: WireConnection, count: int) -> list[Answer]:
    got: list[Answer] = []
    deadline = time.monotonic() + WAIT
    with selectors.DefaultSelector() as selector:
        selector.register(connection, selectors.EVENT_READ)
        while len(got) < count:
            assert time.monotonic() < deadline, f"{len(got)} of {count} answers in {WAIT:g} s"
            selector.select(0.5)
            connection.flush()
            got += connection.receive()
    return got


def test_a_call_comes_back_with_status_ok_and_the_vm_asked_for(pki: Path, server) -> None:
    connection = _connect(pki, server[0].address)
    try:
        answer = _call(connection, "vm-00001")
    finally:
        connection.close()
    assert (answer.status, answer.status_name, answer.stream) == (0, "OK", 1)
    assert inventory_pb2.VirtualMachine.FromString(answer.message).name == "vm-00001"


def test_a_refused_call_carries_its_status_name_and_the_servers_message(pki: Path, server) -> None:
    connection = _connect(pki, server[0].address)
    try:
        answer = _call(connection, "missing")
        unknown = _call(connection, "x", path="/linkedmode.v1.VCenter/NoSuchMethod")
    finally:
        connection.close()
    assert answer.status_name == "NOT_FOUND" and "no VirtualMachine named 'missing'" in answer.detail
    assert answer.message == b""
    assert unknown.status_name == "UNIMPLEMENTED"


def test_a_large_answer_arrives_whole_across_many_frames(pki: Path, server) -> None:
    connection = _connect(pki, server[0].address)
    try:
        answers = [_call(connection, "big") for _ in range(3)]
    finally:
        connection.close()
    for answer in answers:
        assert answer.status == 0 and len(answer.message) > BIG
        assert inventory_pb2.VirtualMachine.FromString(answer.message).extra_config["filler"] == "x" * BIG


def test_thousands_of_calls_on_one_connection_keep_to_the_servers_flow_control(pki: Path, server) -> None:
    """2,000 calls of 500-byte names, 100 in flight at a time, about 1 MB of requests on one connection
    (many times the server's first 64 KiB window): every one answered, each on a stream of its own."""
    connection = _connect(pki, server[0].address)
    name = "vm-" + "7" * 500
    try:
        answers = []
        for _ in range(20):               # 100 calls in flight at a time, 2,000 in all
            headers = request_headers(GET_VM, SERVER.dns_name)
            message = grpc_message(common_pb2.ObjectRef(name=name).SerializeToString())
            for _ in range(100):
                connection.send_call(headers, message)
            answers += _answers(connection, 100)
    finally:
        connection.close()
    assert len(answers) == 2000 and {a.status for a in answers} == {0}
    assert len({a.stream for a in answers}) == 2000


def test_a_server_that_stops_ends_the_connection_with_one_clear_error(pki: Path, server) -> None:
    running, _ = server
    connection = _connect(pki, running.address)
    try:
        assert _call(connection, "vm-00001").status == 0
        running.stop(0)
        with pytest.raises(WireError) as ended:
            _answers(connection, 1)
    finally:
        connection.close()
    message = str(ended.value)
    assert "GOAWAY" in message or "closed the connection" in message or "connection failed" in message
    assert "\n" not in message


def test_a_server_that_does_not_speak_http2_is_refused_by_name(pki: Path) -> None:
    """A TLS server without ALPN h2 (here one that takes the client's certificate but offers no protocol)."""
    cert, key, ca = credential_paths(pki, SERVER)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    context.load_verify_locations(cafile=str(ca))
    context.verify_mode = ssl.CERT_REQUIRED
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        address = f"127.0.0.1:{listener.getsockname()[1]}"

        def accept() -> None:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        with pytest.raises(WireError, match=r"did not agree to HTTP/2 \(ALPN None\)"):
            _connect(pki, address)
        thread.join(5)


def _driver(pki: Path, address: str, clients: int = 2, seconds: float = 5.0, **load: object) -> CallDriver:
    spec = CallLoad(address, str(pki), vms=6, vcenters=2, clients=clients, seconds=seconds, processes=1, **load)  # type: ignore[arg-type]
    return CallDriver(spec, tuple(range(clients)))


def test_the_driver_counts_each_failure_under_its_status_and_a_wrong_vm_as_wrong(pki: Path, server) -> None:
    """Saturated, one client, 30 calls over vm-00001 (answered), vm-00003 (missing) and vm-00005 (another VM)."""
    driver = _driver(pki, server[0].address, clients=1, max_calls=30)
    try:
        outcome = driver.run()
    finally:
        driver.close()
    assert len(outcome.latencies) + len(outcome.failed) == 30
    assert sorted(set(outcome.failed)) == ["NOT_FOUND", "WRONG_ANSWER"]
    assert outcome.failed.count("NOT_FOUND") == outcome.failed.count("WRONG_ANSWER") == len(outcome.latencies) == 10


def test_the_driver_sends_exactly_its_rate_and_leaves_the_warm_up_out(pki: Path, server) -> None:
    driver = _driver(pki, server[0].address, rate=200.0, seconds=0.25, warmup=0.25)
    try:
        outcome = driver.run()
    finally:
        driver.close()
    assert outcome.warmup_calls == 50
    assert len(outcome.latencies) + len(outcome.failed) == 50


def test_a_call_never_answered_counts_as_deadline_exceeded(pki: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:
    """GetHost holds its thread; the driver is pointed at it, gives up `call_timeout` after the load's end."""
    monkeypatch.setattr("linkedmode.bench.call_driver.GET_VM", "/linkedmode.v1.VCenter/GetHost")
    driver = _driver(pki, server[0].address, rate=4.0, seconds=0.5, call_timeout=0.5)
    began = time.monotonic()
    try:
        outcome = driver.run()
    finally:
        driver.close()
    assert outcome.failed == ["DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"] and outcome.latencies == []
    assert time.monotonic() - began < 5


class _Socket:
    """What WireConnection needs of a socket: what it sends is kept, what it receives is fed by the test."""

    def __init__(self) -> None:
        self.sent = bytearray()
        self.incoming = bytearray()

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def recv(self, size: int) -> bytes:
        if not self.incoming:
            raise ssl.SSLWantReadError()
        data, self.incoming = bytes(self.incoming[:size]), self.incoming[size:]
        return data


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream.to_bytes(4, "big") + payload


def test_a_call_larger_than_the_servers_window_waits_for_its_window_update() -> None:
    sock = _Socket()
    connection = WireConnection(sock)  # type: ignore[arg-type]
    headers = request_headers(GET_VM, "vc-01")
    small = grpc_message(b"x" * 60_000)
    connection.send_call(headers, small)
    assert len(sock.sent) == 9 + len(headers) + 9 + len(small)         # within the first 65,535 bytes: sent
    before = len(sock.sent)
    connection.send_call(headers, small)                               # 60,005 more would pass the window
    assert len(sock.sent) == before
    sock.incoming += _frame(8, 0, 0, (60_000).to_bytes(4, "big"))     # WINDOW_UPDATE of the connection
    assert connection.receive() == []
    assert len(sock.sent) == before + 9 + len(headers) + 9 + len(small)


def test_pings_and_settings_are_acknowledged_and_a_goaway_names_its_error() -> None:
    sock = _Socket()
    connection = WireConnection(sock)  # type: ignore[arg-type]
    sock.incoming += _frame(4, 0, 0, b"") + _frame(6, 0, 0, b"12345678")
    connection.receive()
    assert bytes(sock.sent) == _frame(4, 1, 0, b"") + _frame(6, 1, 0, b"12345678")
    sock.incoming += _frame(7, 0, 0, (1).to_bytes(4, "big") + (11).to_bytes(4, "big") + b"too_many_pings")
    with pytest.raises(WireError, match=r"GOAWAY, HTTP/2 error 11: too_many_pings"):
        connection.receive()

"""The bare transport probe: two processes, one plain TCP socket, 1 MiB writes, nothing else.

What this machine's loopback carries at most: the yardstick for the page stream.

    python -m linkedmode.bench.transport     # the receiving side: prints its port, then the bytes it got
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

CHUNK = 1 << 20


def receive_once() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    print(server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    while True:
        got = conn.recv_into(view)
        if not got:
            break
        total += got
    conn.sendall(total.to_bytes(8, "big"))
    conn.close()


def probe(payload: memoryview) -> float:
    """Sends `payload` to a receiver in another process; returns MB/s (10^6 bytes per second)."""
    receiver = subprocess.Popen([sys.executable, "-m", "linkedmode.bench.transport"], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None    # stdout=PIPE
        port = int(receiver.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as sock:
            started = time.perf_counter()
            for offset in range(0, len(payload), CHUNK):
                sock.sendall(payload[offset:offset + CHUNK])
            sock.shutdown(socket.SHUT_WR)
            received = int.from_bytes(sock.recv(8), "big")
            elapsed = time.perf_counter() - started
        if received != len(payload):
            raise RuntimeError(f"the probe's receiver got {received} of {len(payload)} bytes")
        return len(payload) / elapsed / 1e6
    finally:
        receiver.wait(10)


if __name__ == "__main__":
    receive_once()

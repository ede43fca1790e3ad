#!/usr/bin/env python3
"""Benchmarks the vMotion engine on loopback: encrypted vs plaintext migrations vs a bare TCP probe.

The source VM lives in this process; the destination host (a VMotionListener) in a child process,
as two hosts would. Each run migrates the same VM once encrypted and once in plaintext (alternating
which goes first), and moves the same number of bytes over a bare socket with 1 MiB writes (the
transport probe: what the loopback can carry with no framing, hashing or crypto).

    python scripts/bench_engine.py                           # 1 GiB random memory, idle guest, 3 runs
    python scripts/bench_engine.py --dirty-rate-mbps 20 --json

Besides MB/s it reports CPU seconds per GiB on each side (source, destination): on a shared 2-vCPU
box wall-clock figures move with whatever else runs, CPU per GiB much less. What the engine spends
per GiB on top of the bare probe, as measured: AES-GCM ~0.4 s each side (encrypted only), the
checkpoint digest's GHASH ~0.2 s each side, guest memory being cold on both ends, and little Python.
The destination backs memory where the source wrote once the HELLO comes, so that cost (~0.45 s per
GiB written) is in the stream's figure; destination_prepare_cpu_s_per_GiB is what prepare spent.
``--written-fraction`` writes less of the guest before the migrations.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linkedmode.crypto.secrets import MigrationSecrets
from linkedmode.vmotion import GuestMemory, GuestWorkload, MigrationOptions, OutgoingMigration, VMotionListener

PROBE_WRITE = 1 << 20


def cpu_seconds() -> float:
    """CPU time of this whole process (every thread), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def destination_host(conn) -> None:
    """The child process: one vMotion listener; prepares migrations on request, reports how they ended."""
    with VMotionListener() as listener:
        conn.send(listener.address)
        while True:
            message = conn.recv()
            if message[0] == "prepare":
                _, migration_id, key, nonce, memory_mb = message
                secrets = MigrationSecrets(migration_id, key, nonce) if key else None
                prepared = cpu_seconds()
                incoming = listener.prepare(secrets, memory_mb, migration_id)
                started = cpu_seconds()
                prepare_cpu = started - prepared
                conn.send("ready")
            elif message[0] == "wait":
                try:
                    memory = incoming.wait(600)
                    conn.send(("ok", cpu_seconds() - started, prepare_cpu))
                    memory.close()
                except Exception as fault:
                    conn.send(("failed", str(fault)))
            elif message[0] == "probe":
                probe_cpu: list[float] = []
                conn.send(probe_receiver(message[1], probe_cpu))
            elif message[0] == "probe_cpu":
                conn.send(probe_cpu[0] if probe_cpu else 0.0)
            else:
                return


def probe_receiver(total: int, cpu: list[float]) -> tuple[str, int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        sock, _ = server.accept()
        started = cpu_seconds()
        buf = memoryview(bytearray(PROBE_WRITE))
        got = 0
        while got < total:
            n = sock.recv_into(buf)
            if not n:
                break
            got += n
        cpu.append(cpu_seconds() - started)
        sock.sendall(b"k")
        sock.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return "127.0.0.1", port


def probe(host: tuple[str, int], memory: GuestMemory, total: int) -> tuple[float, float]:
    """Bare TCP: the same bytes, 1 MiB writes, no framing, hashing or crypto. Returns MB/s and sender CPU s."""
    sock = socket.create_connection(host)
    view = memory.view()
    cpu = cpu_seconds()
    started = time.perf_counter()
    for offset in range(0, total, PROBE_WRITE):
        sock.sendall(view[offset:offset + PROBE_WRITE])
    sock.recv(1)                       # the receiver has every byte
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    view.release()
    sock.close()
    return total / 1e6 / elapsed, cpu


def migrate(conn, address, memory: GuestMemory, workload: GuestWorkload | None, encrypted: bool,
            options: MigrationOptions) -> dict:
    secrets = MigrationSecrets.generate() if encrypted else None
    migration_id = secrets.migration_id if secrets else random.getrandbits(64)
    # Stands in for the spec pushed over TLS: the key crosses a local pipe to the other "host".
    conn.send(("prepare", migration_id, bytes(secrets.key) if secrets else b"",
               bytes(secrets.nonce_bytes) if secrets else b"", memory.memory_mb))
    assert conn.recv() == "ready"
    migration = OutgoingMigration(memory, address, secrets, migration_id=migration_id, workload=workload, options=options)
    started = cpu_seconds()
    result = migration.run()
    source_cpu = cpu_seconds() - started
    conn.send(("wait",))
    status = conn.recv()
    if status[0] != "ok":
        raise RuntimeError(f"destination: {status[1]}")
    gib = memory.size / (1 << 30)
    if workload is not None:
        workload.resume()              # the bench keeps migrating the same source VM
    return {
        "MBps": memory.size / 1e6 / result.duration_s, "duration_s": result.duration_s, "downtime_ms": result.downtime_ms,
        "rounds": result.rounds, "bytes_sent": result.bytes_sent, "throttle": result.throttle,
        "source_cpu_s_per_GiB": source_cpu / gib, "destination_cpu_s_per_GiB": status[1] / gib,
        "destination_prepare_cpu_s_per_GiB": status[2] / gib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--dirty-rate-mbps", type=float, default=0.0)
    parser.add_argument("--working-set-mb", type=int, default=0, help="default: the whole memory")
    parser.add_argument("--written-fraction", type=float, default=1.0,
                        help="of guest memory written before the migrations (in 1 MiB blocks spread evenly)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frame-kib", type=int, default=1024)
    parser.add_argument("--checkpoint-digest", default="auto", choices=["auto", "ghash", "sha256"],
                        help="auto (what hosts use): 'authenticated' when encrypted, ghash in the clear")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    memory = GuestMemory(args.memory_mb)
    memory.fill_random(args.written_fraction)
    workload = GuestWorkload(memory, args.dirty_rate_mbps, args.working_set_mb or None).start() if args.dirty_rate_mbps else None
    def options_for(encrypted: bool) -> MigrationOptions:
        digest = args.checkpoint_digest if args.checkpoint_digest != "auto" else ("authenticated" if encrypted else "ghash")
        return MigrationOptions(frame_pages=args.frame_kib // 4, checkpoint_digest=digest)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    host = ctx.Process(target=destination_host, args=(child,), daemon=True)
    host.start()
    address = parent.recv()

    gib = memory.size / (1 << 30)
    runs: dict[str, list[dict]] = {"encrypted": [], "plaintext": []}
    transport: list[float] = []
    transport_cpu: list[tuple[float, float]] = []
    for run in range(args.runs):
        order = (True, False) if run % 2 == 0 else (False, True)
        for encrypted in order:
            result = migrate(parent, address, memory, workload, encrypted, options_for(encrypted))
            runs["encrypted" if encrypted else "plaintext"].append(result)
        parent.send(("probe", memory.size))
        mbps, sender_cpu = probe(parent.recv(), memory, memory.size)
        parent.send(("probe_cpu",))
        transport.append(mbps)
        transport_cpu.append((sender_cpu / gib, parent.recv() / gib))
    parent.send(("stop",))
    host.join(10)
    if workload is not None:
        workload.stop()

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    summary = {
        "memory_mb": args.memory_mb, "dirty_rate_mbps": args.dirty_rate_mbps, "runs": args.runs,
        "encrypted_MBps": round(median("encrypted", "MBps"), 1),
        "plaintext_MBps": round(median("plaintext", "MBps"), 1),
        "transport_MBps": round(statistics.median(transport), 1),
        "downtime_ms": round(median("encrypted", "downtime_ms"), 2),
        "plaintext_downtime_ms": round(median("plaintext", "downtime_ms"), 2),
        "rounds": median("encrypted", "rounds"),
        "encrypted_cpu_s_per_GiB": [round(median("encrypted", "source_cpu_s_per_GiB"), 3),
                                    round(median("encrypted", "destination_cpu_s_per_GiB"), 3)],
        "plaintext_cpu_s_per_GiB": [round(median("plaintext", "source_cpu_s_per_GiB"), 3),
                                    round(median("plaintext", "destination_cpu_s_per_GiB"), 3)],
        "destination_prepare_cpu_s_per_GiB": round(median("encrypted", "destination_prepare_cpu_s_per_GiB"), 3),
        "transport_cpu_s_per_GiB": [round(statistics.median(c[0] for c in transport_cpu), 3),
                                    round(statistics.median(c[1] for c in transport_cpu), 3)],
    }
    summary["encrypted_over_transport"] = round(summary["encrypted_MBps"] / summary["transport_MBps"], 3)
    summary["encrypted_time_over_plaintext"] = round(median("encrypted", "duration_s") / median("plaintext", "duration_s"), 3)
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{'run':>4} {'mode':<10} {'MB/s':>8} {'time s':>8} {'downtime ms':>12} {'rounds':>7} {'throttle':>9} "
          f"{'cpu s/GiB src':>14} {'cpu s/GiB dst':>14}")
    for mode in ("encrypted", "plaintext"):
        for i, r in enumerate(runs[mode]):
            print(f"{i:>4} {mode:<10} {r['MBps']:>8.1f} {r['duration_s']:>8.3f} {r['downtime_ms']:>12.2f} "
                  f"{r['rounds']:>7} {r['throttle']:>9.2f} {r['source_cpu_s_per_GiB']:>14.3f} "
                  f"{r['destination_cpu_s_per_GiB']:>14.3f}")
    for i, (mbps, (sender_cpu, receiver_cpu)) in enumerate(zip(transport, transport_cpu, strict=True)):
        print(f"{i:>4} {'transport':<10} {mbps:>8.1f} {'':>8} {'':>12} {'':>7} {'':>9} {sender_cpu:>14.3f} {receiver_cpu:>14.3f}")
    print()
    for key, value in summary.items():
        print(f"{key:>32}: {value}")


if __name__ == "__main__":
    main()

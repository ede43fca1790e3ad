"""One part's metrics: its own registry, and the HTTP listener that serves it (`/metrics`).

The listener's thread waits for a request without a timeout (prometheus_client's own server wakes twice a
second to see whether it should stop: 132 wake-ups a second for an estate of 66 parts, each taking the
GIL from the threads serving calls); `stop` wakes it with a connection of its own.
"""

from __future__ import annotations

import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.registry import Collector

from .api import ApiMetrics, MetricsLayer

STOP_NUDGE_S = 0.05     # how often `stop` connects until the listener's thread has seen it


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged."""


class PartMetrics:
    """The registry of one part (never prometheus_client's global one), its API metrics, and its listener."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.registry = CollectorRegistry(auto_describe=True)
        self.api = ApiMetrics(self.registry)
        self.layer = MetricsLayer(self.api)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.address = ""

    def add(self, collector: Collector) -> None:
        self.registry.register(collector)

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics" if self.address else ""

    def serve(self, address: str) -> str:
        """Serves the registry over plain HTTP on `address` (port 0: a free one); returns where."""
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        server_class = _Server6 if ":" in host else _Server
        self._server = make_server(host, int(port), make_wsgi_app(self.registry), server_class, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": None},
                                        name=f"{self.part}-metrics", daemon=True)
        self._thread.start()
        bound = self._server.server_address[1]
        self.address = f"{host}:{bound}" if ":" not in host else f"[{host}]:{bound}"
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            stopping = threading.Thread(target=server.shutdown, daemon=True)
            stopping.start()
            while stopping.is_alive():     # until the listener's thread, woken by a request, has seen it
                self._nudge()
                stopping.join(STOP_NUDGE_S)
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _nudge(self) -> None:
        host, _, port = self.address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=STOP_NUDGE_S):
                pass
        except OSError:
            pass

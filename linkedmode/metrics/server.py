"""One part's metrics: its own registry, and the HTTP listener that serves it (`/metrics`)."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.registry import Collector

from .api import ApiMetrics, MetricsLayer


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
        self._server, self._thread = start_http_server(int(port), addr=host, registry=self.registry)
        bound = self._server.server_address[1]
        self.address = f"{host}:{bound}" if ":" not in host else f"[{host}]:{bound}"
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

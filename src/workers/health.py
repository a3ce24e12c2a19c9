"""A worker's health: the loop's state and counters, and the probe server that reports them.

The server is the standard library's ``ThreadingHTTPServer`` in its own daemon thread, so a
long batch never blocks a probe. Endpoints:

- ``GET /health``, ``/livez``: 200 with JSON while the loop is alive, 503 once it has been
  silent longer than ``stall_seconds`` past what it promised (a batch, or a sleep it chose).
- ``GET /readyz``: 200 only while the loop runs normally; 503 while starting, draining, backing
  off after errors (until a batch succeeds again), stopped, or when the worker says it cannot
  work yet (``not_ready_reason``).
- ``GET /metrics``: Prometheus text from a per-worker ``CollectorRegistry``.

``HEAD`` answers like ``GET`` without the body (probes that send HEAD work); any other method is
405 with ``Allow: GET, HEAD``.

    status = HealthStatus("example_worker", 0, stall_seconds=120)
    server = HealthServer(status, host="127.0.0.1", port=8090).start()
    ...
    server.stop()
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("workers.health")

STARTING = "starting"
RUNNING = "running"  # inside a batch
IDLE = "idle"  # sleeping between batches, healthy
BACKING_OFF = "backing_off"  # sleeping after an error
DRAINING = "draining"  # stop requested, finishing the batch
STOPPED = "stopped"
STATES = (STARTING, RUNNING, IDLE, BACKING_OFF, DRAINING, STOPPED)


class HealthStatus:
    """What the loop tells the probes. Written by the loop thread only; read by the server thread
    (single attribute reads and writes, which the GIL keeps whole)."""

    def __init__(
        self,
        worker_name: str,
        worker_id: int,
        *,
        stall_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.worker_name = worker_name
        self.worker_id = worker_id
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.started_at = clock()
        self.last_heartbeat = self.started_at
        self.alive_until = self.started_at + stall_seconds
        self.state = STARTING
        self.batches = 0
        self.items_processed = 0
        self.errors_total = 0
        self.consecutive_errors = 0
        self.last_error: str | None = None
        self.not_ready_reason: str | None = None
        # Every queue's rows by status ({table: {status: n}}), set by workers that count them.
        self.queues: dict[str, dict[str, int]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.batch_seconds = Histogram(
            "worker_batch_duration_seconds",
            "Time spent in one process_batch call",
            ["worker", "worker_id"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
        )
        self.registry.register(_StatusCollector(self))

    def heartbeat(self, expect_silence: float = 0.0) -> None:
        """The loop is alive; it may be silent for ``expect_silence`` seconds (a chosen sleep)."""
        now = self.clock()
        self.last_heartbeat = now
        self.alive_until = now + max(0.0, expect_silence) + self.stall_seconds

    def set_state(self, state: str) -> None:
        self.state = state

    def record_batch(self, items: int, seconds: float) -> None:
        self.batches += 1
        self.items_processed += items
        self.consecutive_errors = 0
        self.batch_seconds.labels(self.worker_name, str(self.worker_id)).observe(seconds)

    def record_error(self, exc: BaseException, seconds: float) -> None:
        self.errors_total += 1
        self.consecutive_errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:500]
        self.batch_seconds.labels(self.worker_name, str(self.worker_id)).observe(seconds)

    def is_alive(self) -> bool:
        return self.state == STOPPED or self.clock() <= self.alive_until

    def is_ready(self) -> bool:
        # A retry after errors is still "backing off" until a batch succeeds.
        return (
            self.state in (RUNNING, IDLE)
            and self.consecutive_errors == 0
            and self.not_ready_reason is None
            and self.is_alive()
        )

    def snapshot(self) -> dict[str, Any]:
        now = self.clock()
        alive = self.is_alive()
        return {
            "status": "healthy" if alive else "unhealthy",
            "worker": self.worker_name,
            "worker_id": self.worker_id,
            "state": self.state,
            "ready": self.is_ready(),
            "not_ready_reason": self.not_ready_reason,
            "uptime_seconds": round(now - self.started_at, 3),
            "seconds_since_heartbeat": round(now - self.last_heartbeat, 3),
            "batches": self.batches,
            "items_processed": self.items_processed,
            "errors_total": self.errors_total,
            "consecutive_errors": self.consecutive_errors,
            "last_error": self.last_error,
        }


class _StatusCollector(Collector):
    """Reads the status at scrape time, so the numbers are never stale copies."""

    def __init__(self, status: HealthStatus) -> None:
        self.status = status

    def collect(self) -> Iterator[Any]:
        s = self.status
        labels = ["worker", "worker_id"]
        values = [s.worker_name, str(s.worker_id)]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        now = s.clock()
        yield counter("worker_batches", "Batches that completed without an error", s.batches)
        yield counter("worker_items_processed", "Items handled by completed batches", s.items_processed)
        yield counter("worker_errors", "Batches that raised", s.errors_total)
        yield gauge("worker_consecutive_errors", "Errors since the last good batch", s.consecutive_errors)
        yield gauge("worker_uptime_seconds", "Seconds since the worker started", now - s.started_at)
        yield gauge(
            "worker_seconds_since_heartbeat", "Seconds since the loop last reported", now - s.last_heartbeat
        )
        yield gauge("worker_up", "1 while the loop is alive (same as /livez)", 1.0 if s.is_alive() else 0.0)
        yield gauge(
            "worker_ready", "1 while the worker is ready (same as /readyz)", 1.0 if s.is_ready() else 0.0
        )
        state = GaugeMetricFamily("worker_state", "1 for the current loop state", labels=[*labels, "state"])
        for name in STATES:
            state.add_metric([*values, name], 1.0 if s.state == name else 0.0)
        yield state
        if s.queues:
            queue = GaugeMetricFamily(
                "worker_queue_items", "Rows of each queue table by status", labels=["queue", "status"]
            )
            for table, counts in s.queues.items():
                for status, number in counts.items():
                    queue.add_metric([table, status], number)
            yield queue


ALLOWED_METHODS = "GET, HEAD"


class _Handler(BaseHTTPRequestHandler):
    server: _HealthHTTPServer
    _with_body = True

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD> and answers 501 when it is missing; every method but
        # GET and HEAD is one this server knows and refuses: 405 with Allow.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        body = {
            "error": {
                "code": "method_not_allowed",
                "message": f"{self.command} is not allowed here; use {ALLOWED_METHODS}",
                "details": [],
            }
        }
        self.close_connection = True  # a body the client may have sent is left unread
        self._json(405, body, headers={"Allow": ALLOWED_METHODS})

    def do_HEAD(self) -> None:
        self._with_body = False
        self.do_GET()

    def do_GET(self) -> None:
        status = self.server.status
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path in ("/health", "/livez"):
            self._json(200 if status.is_alive() else 503, status.snapshot())
        elif path == "/readyz":
            self._json(200 if status.is_ready() else 503, status.snapshot())
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, generate_latest(status.registry))
        else:
            self._json(
                404, {"error": {"code": "not_found", "message": f"no such path: {path}", "details": []}}
            )

    def _json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(code, "application/json", json.dumps(body).encode(), headers)

    def _send(self, code: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self._with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)


class _HealthHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], status: HealthStatus) -> None:
        self.status = status
        super().__init__(address, _Handler)


class HealthServer:
    """The probe server in a daemon thread. ``port=0`` picks a free port (see ``.port``)."""

    def __init__(self, status: HealthStatus, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.status = status
        self.host = host
        self.requested_port = port
        self._server: _HealthHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            return self.requested_port
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        """Bind and serve; raises OSError when the port is taken."""
        self._server = _HealthHTTPServer((self.host, self.requested_port), self.status)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"health-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        # shutdown() waits until serve_forever next wakes (up to poll_interval); a connection
        # wakes it at once, so stopping the worker is not held up by its probe server.
        stopper = threading.Thread(target=self._server.shutdown, daemon=True)
        stopper.start()
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 - a wildcard bind is reached on loopback
        try:
            socket.create_connection((host, self.port), timeout=0.2).close()
        except OSError:
            pass
        stopper.join(timeout=2)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None
        self._thread = None

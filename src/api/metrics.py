"""The API's Prometheus metrics, gathered from every gunicorn worker.

Families (``route`` is the route's template, ``/api/v1/items/{item_id}``, or ``(unmatched)``, so a
scan of random paths adds no series):

- ``api_requests_total{method, route, status}``: answered requests.
- ``api_request_duration_seconds{method, route}``: a histogram of the time to the last byte.
- ``api_requests_in_progress``: requests being handled now.
- ``api_rate_limited_requests_total{route}``: requests answered 429.
- ``api_db_pool_connections_in_use`` and ``api_db_pool_connections_max``: database connections
  checked out of the pools, and what the pools may hold (pool size + overflow), summed over workers.

Under gunicorn, prometheus_client runs in its multiprocess mode: gunicorn.conf.py points
``PROMETHEUS_MULTIPROC_DIR`` at ``VAR_DIR/metrics/api`` (emptied at start; a dead worker's live
gauges are dropped in ``child_exit``), each worker writes its values there, and whichever worker
answers ``GET /api/v1/admin/metrics`` (admins only) adds them all up. Elsewhere (an app made in a
test) the app's own registry is read.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.db import Database

UNMATCHED = "(unmatched)"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_mode() -> bool:
    """Whether prometheus_client writes its values to PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py
    before the workers imported it)."""
    return values.ValueClass is not values.MutexValue


class ApiMetrics:
    """The metric objects of one app, and the text a scrape reads."""

    def __init__(self, database: Database, *, multiprocess_dir: Path | None) -> None:
        self.database = database
        self.multiprocess_dir = multiprocess_dir if multiprocess_mode() else None
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "api_requests", "Requests answered", ["method", "route", "status"], registry=r
        )
        self.duration = Histogram(
            "api_request_duration_seconds",
            "Time from the request to the end of the response",
            ["method", "route"],
            buckets=BUCKETS,
            registry=r,
        )
        self.in_progress = Gauge(
            "api_requests_in_progress", "Requests being handled", registry=r, multiprocess_mode="livesum"
        )
        self.rate_limited = Counter(
            "api_rate_limited_requests", "Requests refused with 429 (rate limited)", ["route"], registry=r
        )
        self.pool_in_use = Gauge(
            "api_db_pool_connections_in_use",
            "Database connections checked out of the pools",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_max = Gauge(
            "api_db_pool_connections_max",
            "Connections the pools may hold (pool size + overflow)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_max.set(database.pool_size + database.max_overflow)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)
        if status == 429:
            self.rate_limited.labels(route).inc()
        self.pool_in_use.set(self.database.checked_out())

    def exposition(self) -> bytes:
        """The Prometheus text of every worker (multiprocess mode), else of this app."""
        self.pool_in_use.set(self.database.checked_out())
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiprocess_dir))
        return generate_latest(registry)


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request. Pure ASGI, outermost, so early answers (413, 415, the
    schema gate's 503) are counted too."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any answer: what the client gets

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.in_progress.dec()
            self.metrics.observe(scope["method"], route_of(scope), status, time.perf_counter() - started)

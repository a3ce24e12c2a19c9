"""The FastAPI application factory.

``create_app(settings)`` builds everything (settings, database, rate limiter, routes); nothing happens
at import. gunicorn loads ``api.app:app``, which is created on first access.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.access_log import ProbeMarkMiddleware, quiet_probes_in_access_log
from api.errors import COMMON_ERROR_RESPONSES, install_error_handlers
from api.faults import install_fault_handlers
from api.http_limits import check_input_limits
from api.idempotency import IdempotencyJanitor
from api.metrics import ApiMetrics, MetricsMiddleware
from api.middleware import RequestGuardMiddleware, RequestIdMiddleware
from api.ratelimit import RateLimiter
from api.readiness import Readiness, SchemaGate
from api.routes import (
    admin,
    admin_audit,
    admin_control,
    admin_failed,
    admin_history,
    admin_hosts,
    admin_logs,
    admin_queue,
    admin_users,
    api_keys,
    auth,
    health,
    items,
    metrics,
)
from api.schemas import configure_metadata_limits
from api.security_headers import SecurityHeadersMiddleware
from api.static import mount_frontend
from config.checks import problems
from config.config import ConfigError, Settings, get_settings, load
from store.db import Database
from store.migrate import head_revision

# gunicorn stops (instead of respawning forever) when a worker exits with this code.
WORKER_BOOT_ERROR = 3


def check_settings(settings: Settings) -> None:
    """Refuse settings that are unsafe where they would be used (the lines `config check` prints)."""
    found = problems(settings)
    if found:
        raise ConfigError("; ".join(found))
    check_input_limits(settings)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Each worker's async database pool lives on its event loop: opened at startup (no connection
    until a request needs one), closed at shutdown."""
    aio = app.state.db.aio
    if aio is not None:
        await aio.open()
    try:
        yield
    finally:
        if aio is not None:
            await aio.close()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings if settings is not None else load()
    check_settings(settings)
    limiter = RateLimiter.from_settings(settings)
    app = FastAPI(
        lifespan=_lifespan,
        title="Service Stack API",
        version="0.1.0",
        responses=COMMON_ERROR_RESPONSES,
        description='Items, users and API keys. Every error is `{"error": {"code", "message", '
        '"details", "request_id"}}`; every response carries `X-Request-ID`.',
    )
    app.state.settings = settings
    # ping="idle": no pool_pre_ping round trip per checkout on the hot path (see store.db).
    app.state.db = database or Database.from_settings(settings, application_name="api", ping="idle")
    # PostgreSQL: the hot routes (authentication, items get, list, create) query on the event loop
    # through an async pool, opened in each worker (after gunicorn's fork) by _lifespan.
    app.state.db.use_async_pool()
    app.state.limiter = limiter
    # /readyz and /health: the database answers, at the schema this code's migrations end at.
    app.state.readiness = Readiness(app.state.db, expected=head_revision())
    app.state.idempotency_janitor = IdempotencyJanitor(settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    app.state.started_at = time.monotonic()
    configure_metadata_limits(
        max_bytes=settings.API_MAX_METADATA_BYTES, max_depth=settings.API_MAX_METADATA_DEPTH
    )
    install_error_handlers(app)
    install_fault_handlers(app)  # database down: 503 database_unavailable, logged once per interval
    limiter.fault_log = app.state.fault_log
    # Until the schema is seen at head: /api/ routes 503 while the database is at another revision.
    app.add_middleware(SchemaGate, readiness=app.state.readiness)
    # Added last = outermost: the request id is set before anything can answer.
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.API_MAX_BODY_BYTES)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ProbeMarkMiddleware)  # health probes kept out of the access log
    quiet_probes_in_access_log()
    app.add_middleware(SecurityHeadersMiddleware)  # on every response, errors included
    app.state.metrics = (
        ApiMetrics(app.state.db, multiprocess_dir=settings.api_metrics_dir) if settings.API_METRICS else None
    )
    if app.state.metrics is not None:  # outermost: every answer counted, its time all of it
        app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(api_keys.router)
    app.include_router(items.router)
    app.include_router(admin.router)  # GET /api/v1/admin/services (written by the ops/frontend work)
    app.include_router(admin_control.router)
    app.include_router(admin_logs.router)
    app.include_router(admin_queue.router)
    app.include_router(admin_history.router)  # GET /api/v1/admin/queue/history
    app.include_router(admin_hosts.router)  # GET /api/v1/admin/hosts: every SUPERVISOR_SERVERS host
    app.include_router(admin_failed.router)  # /api/v1/admin/queue/{table}/failed: list, requeue
    app.include_router(admin_audit.router)  # GET /api/v1/admin/audit
    app.include_router(metrics.router)  # GET /api/v1/admin/metrics
    app.include_router(admin_users.router)  # /api/v1/admin/users: deactivate, activate, delete
    if settings.STATIC_DIR:
        mount_frontend(app, Path(settings.STATIC_DIR))  # last: its catch-all must not shadow the API
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    # `api.app:app` for gunicorn and uvicorn, built on first access instead of at import.
    global _app
    if name == "app":
        if _app is None:
            try:
                _app = create_app(get_settings())
            except ConfigError as exc:
                print(f"error: the API cannot start: {exc}", file=sys.stderr, flush=True)
                raise SystemExit(WORKER_BOOT_ERROR) from None
        return _app
    raise AttributeError(f"module 'api.app' has no attribute {name!r}")

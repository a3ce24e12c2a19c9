"""Whether this API process may serve data: its database answers, at the schema this code needs.

    readiness = Readiness(db, expected=head_revision())
    readiness.problem()        # None when ready, else one line: "database unavailable: ...",
                               # "migrations pending: the database is at 0004, this code needs 0005"

Liveness (``/livez``) never asks this: a process whose database is away is alive and must not be
restarted (a restart cannot bring the database back). Readiness (``/readyz``, ``/health``) does, on
every probe, so the API is ready again by itself as soon as the database answers.

The schema is looked at until it is seen at ``expected`` once, then trusted for the life of the
process (migrations only move forward while it runs). Until then :class:`SchemaGate` answers
``503 database_unavailable`` on ``/api/`` routes when the database answers at another revision
(the migrations are applied by another process when the database comes back: see
conf/gunicorn.conf.py), instead of letting new code query tables that are not there yet.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio.to_thread
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from api.faults import DATABASE_RETRY_AFTER_SECONDS, public_reason
from store.db import Database


class Readiness:
    """The database's reachability and schema revision, as this process needs them."""

    def __init__(self, db: Database, *, expected: str | None) -> None:
        self.db = db
        self.expected = expected
        self._schema_ok = expected is None
        self._lock = threading.Lock()

    @property
    def schema_ok(self) -> bool:
        """True once the schema was seen at the expected revision (then never asked again)."""
        return self._schema_ok

    def schema_problem(self) -> str | None:
        """None when the database is at the expected revision; a line when it answers at another;
        None as well when it does not answer (that is the database's problem, said elsewhere)."""
        if self._schema_ok:
            return None
        from alembic.runtime.migration import MigrationContext

        try:
            with self.db.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except Exception:  # noqa: BLE001 - unreachable: the route or check() says why
            return None
        if current == self.expected:
            with self._lock:
                self._schema_ok = True
            return None
        return (
            f"migrations pending: the database is at {current or 'no revision'}, "
            f"this code needs {self.expected}"
        )

    def problem(self) -> str | None:
        """None when ready; else why not, in one line (database first, then schema)."""
        reason = self.db.check()
        if reason is not None:
            return f"database unavailable: {public_reason(reason)}"
        return self.schema_problem()


def _has_route(scope: Scope) -> bool:
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", [])
    # Routes only, and not the frontend's catch-all (api.static), which matches every path.
    return any(
        isinstance(route, Route) and "{path:path}" not in route.path and route.matches(scope)[0] != Match.NONE
        for route in routes
    )


class SchemaGate:
    """ASGI middleware: until the schema is seen at the expected revision, ``/api/`` requests get
    ``503 database_unavailable`` while the database answers at another one (pure ASGI, so it costs
    a flag test per request once the schema is confirmed)."""

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.readiness.schema_ok
            or scope["type"] != "http"
            or not scope["path"].startswith("/api/")
            or not _has_route(scope)  # an unknown path is a 404 whatever the schema
        ):
            await self.app(scope, receive, send)
            return
        problem = await anyio.to_thread.run_sync(self.readiness.schema_problem)
        if problem is None:
            await self.app(scope, receive, send)
            return
        seconds = DATABASE_RETRY_AFTER_SECONDS
        response: Any = error_response(
            503,
            f"the database is not ready ({problem}); retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
            code="database_unavailable",
        )
        await response(scope, receive, send)

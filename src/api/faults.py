"""What the API answers when a part it needs fails, and how it says so in the log.

The database down: every request that needs it gets ``503 database_unavailable`` with
``Retry-After`` and a one-line reason, instead of ``500 internal_error`` and a traceback. The
rate-limit store (Redis) down: see ``RateLimiter`` and ``RATE_LIMIT_REDIS_DOWN``. Either is
logged at most once per ``FAULT_LOG_INTERVAL_SECONDS`` per process while it lasts, not per request.

    fault_log = ThrottledLog(logging.getLogger("api.faults"))
    fault_log.warning("database", "database unavailable: %s", reason)   # True when it was written
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from api.errors import ServiceUnavailable, error_response
from store.db import DatabaseUnavailableError, unavailable_reason

log = logging.getLogger("api.faults")

FAULT_LOG_INTERVAL_SECONDS = 60.0
# What a client is told to wait: long enough not to hammer a recovering server, short enough that
# a restart of the database (seconds) costs clients seconds.
DATABASE_RETRY_AFTER_SECONDS = 5


class ThrottledLog:
    """Writes a warning for a key (a fault) at most once per interval; thread-safe."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = FAULT_LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def warning(self, key: str, message: str, *args: object) -> bool:
        now = self.clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                return False
            self._last[key] = now
        self.logger.warning(message, *args)
        return True

    def recovered(self, key: str, message: str, *args: object) -> None:
        """Say once that a reported fault is over (nothing when none was reported)."""
        with self._lock:
            reported = self._last.pop(key, None) is not None
        if reported:
            self.logger.warning(message, *args)


def public_reason(line: str) -> str:
    """The cause without the server's address, for clients: the driver's text after "failed: "."""
    return line.rsplit("failed: ", 1)[-1].strip().rstrip(".") or line


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"

    def __init__(self, reason: str) -> None:
        seconds = DATABASE_RETRY_AFTER_SECONDS
        super().__init__(
            f"the database is unavailable ({public_reason(reason)}); retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    reason = unavailable_reason(exc)
    if reason is None:  # a failing statement, not a missing database: a bug, logged in full
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal server error", request=request)
    fault_log: ThrottledLog = request.app.state.fault_log
    fault_log.warning(
        "database",
        "database unavailable: %s; answering 503 database_unavailable "
        "(reported again in %.0f s while it lasts)",
        reason,
        fault_log.interval,
    )
    error = DatabaseUnavailable(reason)
    return error_response(
        error.status_code, error.message, headers=error.headers, request=request, code=error.code
    )


def install_fault_handlers(app: FastAPI) -> None:
    app.state.fault_log = ThrottledLog(log)
    app.add_exception_handler(DBAPIError, _database_error)  # the threaded path (SQLAlchemy)
    app.add_exception_handler(DatabaseUnavailableError, _database_error)  # the async path (store.pg_async)

"""The API's hot path on PostgreSQL without threads: psycopg's ``AsyncConnectionPool`` and the
SQL of SQLAlchemy Core statements compiled once, run on the event loop.

Made by ``Database.use_async_pool()`` (the API does, in each gunicorn worker after the fork);
opened on the event loop by the app's startup (or its first use), closed at shutdown. Rows come
back as tuples in the statement's column order (or named tuples with ``named=True``).

    aio = database.use_async_pool()
    row = await aio.fetch_one(GET_ITEM, {"item_id": 7, "user_id": 1})     # a Core statement
    async with aio.transaction() as conn:                                 # BEGIN ... COMMIT
        await aio.execute(INSERT_KEY, params, conn=conn)

Failures say what the threaded path says: a database that cannot be used now (refused, dropped,
shutting down, no connection free within ``CHECKOUT_TIMEOUT_SECONDS``) raises
``DatabaseUnavailableError`` with a one-line reason (the API answers 503 database_unavailable);
any other error is the driver's own (a bug: 500). While the database is known to be away, each
request tries one connection of its own and fails at once with its reason (as the engine does),
instead of waiting for the pool (so does the first request, until the database first answers); the
first that connects lets the pool refill at once. A pooled
connection unused for ``PING_AFTER_IDLE_SECONDS`` is pinged before use, and when the server had
dropped it, every idle one is replaced (a restart): the request is served, not failed.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import URL
from sqlalchemy.sql import ClauseElement

from store.db import PING_AFTER_IDLE_SECONDS, DatabaseUnavailableError, driver_error_means_unavailable

# How long a request waits for a free connection before it is answered 503 (the pool is sized for
# the load it serves; a wait this long means the database cannot keep up, or is away).
CHECKOUT_TIMEOUT_SECONDS = 10.0
# How long the pool retries a connection in the background before leaving it to the next request.
RECONNECT_SECONDS = 5.0
# Same as the engine's pool_recycle.
MAX_LIFETIME_SECONDS = 1800.0
# An idle connection is closed after this (one a period): a burst's connections do not stay open
# for long on a server that several processes share.
MAX_IDLE_SECONDS = 60.0

IntegrityError = psycopg.IntegrityError  # a unique key taken (Idempotency-Key): the caller's to catch
__all__ = ["AsyncConnection", "AsyncPostgres", "IntegrityError", "Json"]

AsyncConnection = psycopg.AsyncConnection[Any]


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


class AsyncPostgres:
    """An async pool of autocommit connections (a lone statement is its own transaction: no
    BEGIN/COMMIT round trips), at most ``max_size``, opened as needed."""

    def __init__(self, url: URL, *, max_size: int, connect_args: Mapping[str, Any]) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connect_args = {**connect_args, "autocommit": True}
        self.pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            self.conninfo,
            kwargs=self.connect_args,
            min_size=0,
            max_size=max(1, max_size),
            open=False,
            name=str(connect_args.get("application_name", "app")),
            timeout=CHECKOUT_TIMEOUT_SECONDS,
            max_lifetime=MAX_LIFETIME_SECONDS,
            max_idle=MAX_IDLE_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
        )
        self._dialect = PGDialect_psycopg()
        self._sql: dict[int, tuple[ClauseElement, str]] = {}
        # Why the database could not be used, while it is known to be away; None otherwise.
        self.unavailable: str | None = None
        self._answered = False  # whether a connection of our own got through since the start
        self._probe: asyncio.Task[str | None] | None = None
        self._returned_at: weakref.WeakKeyDictionary[AsyncConnection, float] = weakref.WeakKeyDictionary()

    # --- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the pool's tasks on the running loop (no connection is made until one is needed)."""
        if self.pool.closed:
            await self.pool.open(wait=False)

    async def close(self) -> None:
        if not self.pool.closed:
            await self.pool.close()

    def pool_status(self) -> dict[str, int]:
        """The async pool as numbers, named as the engine's: its connections, in use, idle, at most."""
        stats = self.pool.get_stats()
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        return {"size": size, "checked_out": size - idle, "checked_in": idle, "max": self.pool.max_size}

    def checked_out(self) -> int:
        """Connections in use now (or being opened): cheap enough for a gauge set per request."""
        stats = self.pool.get_stats()
        return stats.get("pool_size", 0) - stats.get("pool_available", 0)

    # --- statements --------------------------------------------------------------------------------

    def sql(self, statement: ClauseElement) -> str:
        """The statement's SQL for psycopg (named ``%(name)s`` parameters), compiled once."""
        known = self._sql.get(id(statement))
        if known is None or known[0] is not statement:
            known = (statement, str(statement.compile(dialect=self._dialect)))
            self._sql[id(statement)] = known
        return known[1]

    async def fetch_one(
        self,
        statement: ClauseElement,
        params: Mapping[str, Any],
        *,
        conn: AsyncConnection | None = None,
        named: bool = False,
    ) -> Any:
        """The first row (a tuple, or a named tuple), or None."""
        if conn is not None:
            return await self._fetch(conn, statement, params, named=named, many=False)
        async with self.connection() as own:
            return await self._fetch(own, statement, params, named=named, many=False)

    async def fetch_all(
        self, statement: ClauseElement, params: Mapping[str, Any], *, conn: AsyncConnection | None = None
    ) -> list[tuple[Any, ...]]:
        if conn is not None:
            rows: list[tuple[Any, ...]] = await self._fetch(conn, statement, params, named=False, many=True)
            return rows
        async with self.connection() as own:
            rows = await self._fetch(own, statement, params, named=False, many=True)
            return rows

    async def execute(
        self, statement: ClauseElement, params: Mapping[str, Any], *, conn: AsyncConnection | None = None
    ) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        if conn is not None:
            return (await conn.execute(self.sql(statement), params)).rowcount
        async with self.connection() as own:
            return (await own.execute(self.sql(statement), params)).rowcount

    async def _fetch(
        self,
        conn: AsyncConnection,
        statement: ClauseElement,
        params: Mapping[str, Any],
        *,
        named: bool,
        many: bool,
    ) -> Any:
        cursor = conn.cursor(row_factory=namedtuple_row) if named else conn.cursor()
        async with cursor:
            await cursor.execute(self.sql(statement), params)
            return await (cursor.fetchall() if many else cursor.fetchone())

    # --- connections -------------------------------------------------------------------------------

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection in autocommit, back in the pool at the end. A failure that means
        the database cannot be used now becomes ``DatabaseUnavailableError``."""
        conn = await self._checkout()
        try:
            yield conn
        except psycopg.Error as error:
            reason = self._unavailable_reason(error, conn)
            if reason is None:
                raise
            self.unavailable = reason
            raise DatabaseUnavailableError(reason) from error
        finally:
            self._returned_at[conn] = time.monotonic()
            await self.pool.putconn(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction: committed at the end, rolled back on an error."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    @staticmethod
    def _unavailable_reason(error: psycopg.Error, conn: AsyncConnection) -> str | None:
        if conn.broken or (
            isinstance(error, psycopg.OperationalError) and driver_error_means_unavailable(error)
        ):
            return _first_line(error)
        return None

    async def _checkout(self) -> AsyncConnection:
        if self.unavailable is not None or not self._answered:
            # Away (or not reached yet, as at a start with the database down): a connection of our
            # own says so at once, instead of a wait in the pool's queue for its whole timeout.
            await self._check_reachable()
        await self.open()
        while True:
            try:
                # One wait in the pool's queue (first come, first served): a busy pool is not a
                # reason to open probing connections, which would only load the server more.
                conn = await self.pool.getconn()
            except PoolTimeout:
                await self._check_reachable()  # raises when the database does not answer
                raise DatabaseUnavailableError(
                    f"no database connection free after {CHECKOUT_TIMEOUT_SECONDS:g} s"
                ) from None
            returned_at = self._returned_at.get(conn)
            if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
                return conn
            try:
                await conn.execute("")  # an empty query: one round trip
            except psycopg.Error:
                # Dropped by the server while idle (a restart, pg_terminate_backend): it and every
                # other idle one are replaced, and the request asks again.
                await self.pool.putconn(conn)
                await self.pool.drain()
                await self._check_reachable()
                continue
            return conn

    async def _check_reachable(self) -> None:
        """Connect once, directly: raise DatabaseUnavailableError (and remember why) when the
        database does not answer. Requests asking at the same time share one attempt."""
        probe = self._probe
        if probe is None:
            probe = self._probe = asyncio.get_running_loop().create_task(self._probe_once())
        try:
            reason = await asyncio.shield(probe)
        finally:
            if probe.done() and self._probe is probe:
                self._probe = None
        if reason is not None:
            raise DatabaseUnavailableError(reason)

    async def _probe_once(self) -> str | None:
        """Why the database does not answer a connection of our own; None when it does, after
        which an earlier failure is forgotten and the pool refills now, not after its back-off."""
        try:
            conn = await psycopg.AsyncConnection.connect(self.conninfo, **self.connect_args)
        except psycopg.Error as error:
            self.unavailable = _first_line(error)
            return self.unavailable
        await conn.close()
        self._answered = True
        if self.unavailable is not None:
            self.unavailable = None
            await self.pool.open()
            await self.pool.check()
        return None

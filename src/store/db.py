"""The one way into the database: engine, sessions and pool statistics.

Used by the API, the example worker and ``ctl db``. SQLite gets WAL, a busy timeout and
foreign keys on every connection; PostgreSQL uses psycopg 3 with a sized pool.

    db = Database.from_settings(settings)
    with db.session() as session:
        session.execute(...)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from config.config import Settings
from store.files import protect_directory, protect_sqlite_file

if TYPE_CHECKING:
    from store.pg_async import AsyncPostgres

SQLITE_BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


def _configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    # isolation_level=None hands transaction control to us (BEGIN below), which SQLite
    # needs for BEGIN IMMEDIATE claims; pysqlite's implicit transactions get in the way.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(conn: Any) -> None:
    # A caller that writes first (the workers' claims) asks for BEGIN IMMEDIATE with
    # `.execution_options(sqlite_begin="BEGIN IMMEDIATE")`: the write lock is taken up front,
    # so the busy timeout applies instead of a deadlock-avoiding SQLITE_BUSY on lock upgrade.
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


# A connection used this recently is trusted without a ping: under load connections come back
# within milliseconds, while a server restart (the case pinging is for) takes longer than this.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


def _idle_pinger(dialect: Any) -> Callable[[Any, Any, Any], None]:
    def ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # SQLAlchemy's "pessimistic disconnect handling" recipe, for idle connections only: a dead
        # one raises DisconnectionError, the pool discards it (and every older one) and connects
        # afresh, so the request is served instead of failing on a connection the server dropped.
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error

    return ping_if_idle


def _protect_var_dir(settings: Settings) -> None:
    """VAR_DIR (the SQLite database, pid files, the demo credentials) is the stack's own
    directory: private (0700) when it exists, whichever the backend."""
    var_dir = Path(settings.VAR_DIR)
    if var_dir.is_dir():
        protect_directory(var_dir)


# SQLSTATE classes that mean "the server cannot be used now", not "this statement is wrong":
# connection exceptions, too many connections / out of resources, and shutdowns in progress.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


class DatabaseUnavailableError(Exception):
    """The database cannot be used now (refused, dropped, no connection free): raised by the async
    path (store.pg_async) with the one-line reason, as SQLAlchemy's DBAPIError is by the threaded one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unavailable_reason(error: BaseException) -> str | None:
    """One line saying why the database cannot be reached, when ``error`` means exactly that
    (refused, timed out, dropped, shutting down); None for any other error, such as a bad statement.

    Used to answer 503 instead of 500, and to say why without a traceback.
    """
    if isinstance(error, DatabaseUnavailableError):
        return error.reason
    if not isinstance(error, exc.DBAPIError):
        return None
    orig = error.orig
    first_line = _first_line(orig if orig is not None else error)
    if error.connection_invalidated:
        return first_line
    if not isinstance(error, exc.OperationalError):
        return None
    if driver_error_means_unavailable(orig):
        return first_line
    if "unable to open database file" in first_line:  # SQLite: its directory or file is gone
        return first_line
    return None


def driver_error_means_unavailable(error: BaseException | None) -> bool:
    """Whether a driver's own error (psycopg's) says the server cannot be used now: its SQLSTATE is
    one of the unavailable classes, or None (client-side connection failures have none)."""
    sqlstate = getattr(error, "sqlstate", "")
    return sqlstate is None or str(sqlstate).startswith(_UNAVAILABLE_SQLSTATES)


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 10,
        application_name: str = "app",
        ping: str = "always",
    ) -> None:
        """``ping`` (PostgreSQL): "always" pings each connection on checkout (pool_pre_ping);
        "idle" pings only those unused for PING_AFTER_IDLE_SECONDS, for the API's hot path."""
        self.url = make_url(url)
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self._thread_limiter: anyio.CapacityLimiter | None = None
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # The API's hot routes on PostgreSQL: an async pool without threads (use_async_pool).
        self.aio: AsyncPostgres | None = None
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            # No pool_pre_ping: a SQLite "connection" is a file handle that cannot go stale, and the
            # ping would cost a query per checkout.
            if self.url.database and self.url.database != ":memory:":
                protect_sqlite_file(Path(self.url.database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
        else:
            # pool_pre_ping costs a round trip on every checkout (two per API request); "idle" has
            # _idle_pinger ping only connections that sat unused, which is what a restart leaves.
            self._connect_args = {"application_name": application_name, "connect_timeout": 5}
            kwargs["connect_args"] = dict(self._connect_args)
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800)
            kwargs["pool_pre_ping"] = ping != "idle"
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
            event.listen(self.engine, "begin", _begin_sqlite)
        elif ping == "idle":
            event.listen(self.engine.pool, "checkin", _note_checkin)
            event.listen(self.engine.pool, "checkout", _idle_pinger(self.engine.dialect))
        # Reads on PostgreSQL run in autocommit: a lone SELECT needs no BEGIN and COMMIT round trips.
        # (SQLite keeps its cheap local BEGIN/COMMIT: the begin hook above owns its transactions.)
        self.read_engine: Engine = (
            self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, application_name: str = "app", ping: str = "always"
    ) -> Database:
        _protect_var_dir(settings)
        return cls(
            settings.DATABASE_URL,
            pool_size=settings.DB_POOL_SIZE,
            max_overflow=settings.DB_MAX_OVERFLOW,
            application_name=application_name,
            ping=ping,
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def thread_limiter(self) -> anyio.CapacityLimiter:
        """How many threads of one process may use the database at once: the pool's size. More
        threads would only queue for connections (or make overflow connections that are opened
        and closed again) and contend for the GIL; fewer keep the event loop responsive."""
        if self._thread_limiter is None:
            self._thread_limiter = anyio.CapacityLimiter(self.pool_size)
        return self._thread_limiter

    def use_async_pool(self) -> AsyncPostgres | None:
        """PostgreSQL: the async pool (store.pg_async) the API's hot routes use on the event loop,
        made on the first call; None on SQLite, whose requests keep their worker thread. At most
        ``pool_size + max_overflow`` connections, opened as load asks (none until the first
        request) and closed after a minute unused, besides the engine's own pool for everything
        else. (A connection on the event loop is held until its request's coroutine runs again,
        behind the loop's other work: with only ``pool_size`` of them, requests queued for
        connections, and get by id served a quarter of the threaded API's req/s in the same round
        of bin/bench api on a loaded machine.)"""
        if self.is_sqlite:
            return None
        if self.aio is None:
            from store.pg_async import AsyncPostgres

            self.aio = AsyncPostgres(
                self.url, max_size=self.pool_size + self.max_overflow, connect_args=self._connect_args
            )
        return self.aio

    def request_scope(self) -> RequestScope:
        """The database access of one API request (see RequestScope)."""
        return RequestScope(self)

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return self.check() is None

    def check(self) -> str | None:
        """None when the database answers a trivial query, else one line saying why not.

        A pooled connection the server had dropped (a restart, pg_terminate_backend) says nothing
        about the database now: the pool discards it, and the query is asked once more on a fresh
        connection, whose answer (served, or e.g. "Connection refused") is the one reported.
        """
        problem, dropped = self._check_once()
        if dropped:
            problem, _ = self._check_once()
        return problem

    def _check_once(self) -> tuple[str | None, bool]:
        """(why the query failed or None, whether it failed on a pooled connection found dead)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return None, False
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable"; say which
            dropped = isinstance(error, exc.DBAPIError) and error.connection_invalidated
            return unavailable_reason(error) or _first_line(getattr(error, "orig", None) or error), dropped

    def pool_status(self) -> dict[str, Any]:
        """The connection pool as numbers: size, checked out, overflow, checked in."""
        pool: Any = self.engine.pool
        stats: dict[str, Any] = {"backend": self.url.get_backend_name(), "class": type(pool).__name__}
        for name in ("size", "checkedout", "overflow", "checkedin"):
            method = getattr(pool, name, None)
            if callable(method):
                stats[{"checkedout": "checked_out", "checkedin": "checked_in"}.get(name, name)] = method()
        if self.aio is not None:
            stats["async"] = self.aio.pool_status()
        return stats

    def checked_out(self) -> int:
        """Connections in use now (checked out of the engine's pool and of the async one): cheap,
        for a gauge set per request."""
        count = getattr(self.engine.pool, "checkedout", None)
        in_use = int(count()) if callable(count) else 0
        return in_use + (self.aio.checked_out() if self.aio is not None else 0)

    def dispose(self) -> None:
        self.engine.dispose()


class RequestScope:
    """One API request's database access: one Session, created on first use, shared by
    authentication and the route.

    ``transaction()`` runs short transactions one after the other (auth's lookup, then the route's
    work). Each returns its connection to the pool when it ends, so a request never holds a
    connection while it waits for a thread (which could starve the pool under load), and on SQLite
    a write never follows a read in one deferred transaction (which SQLite may refuse with
    SQLITE_BUSY_SNAPSHOT instead of waiting).
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        # Not None (PostgreSQL, in the API): the hot routes' queries run on the event loop through
        # it; otherwise they run in a worker thread (``run``) through the engine.
        self.aio: AsyncPostgres | None = database.aio
        self._session: Session | None = None

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        """Run blocking database work in a worker thread (at most ``thread_limiter()`` at once):
        one thread hop for all of a step's queries, instead of one per sync dependency and route."""
        return await anyio.to_thread.run_sync(
            functools.partial(work, *args), limiter=self.database.thread_limiter()
        )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (SQLAlchemy Core), returned to the pool at the end: autocommit on
        PostgreSQL (each statement its own snapshot, no BEGIN/COMMIT round trips), a short read
        transaction on SQLite. The hot paths (authentication, get and list) use this."""
        with self.database.read_engine.connect() as conn:
            yield conn
            if conn.in_transaction():
                conn.commit()  # SQLite: end the read transaction cheaply (a rollback would do too)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a transaction (SQLAlchemy Core): committed on success, rolled back on error."""
        with self.database.engine.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """An ORM session in a transaction: committed on success, rolled back on error, and closed
        at its end (its objects stay readable: nothing expires on commit), so the scope needs no
        closing when the request ends."""
        self._session = self.database.sessionmaker()
        try:
            with self._session.begin():
                yield self._session
        finally:
            self._session.close()
            self._session = None

    def in_transaction(self) -> bool:
        return self._session is not None and self._session.in_transaction()

    def close(self) -> None:
        """Release the session (no I/O unless a transaction is still open)."""
        if self._session is not None:
            self._session.close()
            self._session = None

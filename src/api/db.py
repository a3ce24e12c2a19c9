"""The one way into the database: engine, sessions and pool statistics.

Used by the API, the example worker and ``ctl db``. SQLite gets WAL, a busy timeout and
foreign keys on every connection; PostgreSQL uses psycopg 3 with a sized pool.

    db = Database.from_settings(settings)
    with db.session() as session:
        session.execute(...)
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from config.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000


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


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10,
                 application_name: str = "app") -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
        else:
            kwargs["connect_args"] = {"application_name": application_name, "connect_timeout": 5}
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
            event.listen(self.engine, "begin", _begin_sqlite)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, application_name: str = "app") -> Database:
        return cls(settings.DATABASE_URL, pool_size=settings.DB_POOL_SIZE,
                   max_overflow=settings.DB_MAX_OVERFLOW, application_name=application_name)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False

    def pool_status(self) -> dict[str, Any]:
        """The connection pool as numbers: size, checked out, overflow, checked in."""
        pool: Any = self.engine.pool
        stats: dict[str, Any] = {"backend": self.url.get_backend_name(), "class": type(pool).__name__}
        for name in ("size", "checkedout", "overflow", "checkedin"):
            method = getattr(pool, name, None)
            if callable(method):
                stats[{"checkedout": "checked_out", "checkedin": "checked_in"}.get(name, name)] = method()
        return stats

    def dispose(self) -> None:
        self.engine.dispose()

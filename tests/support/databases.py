"""Databases for tests: a fresh SQLite file, or a fresh PostgreSQL database that is dropped after.

PostgreSQL tests use the server named by TEST_DATABASE_URL (CI sets it); each test database gets
its own name so two runs never share rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "TEST_DATABASE_URL"


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create ``test_<random>`` on the server, yield its URL, drop it (with FORCE) afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'app.db'}"


def terminate_backends(url: str, application_name: str) -> int:
    """Drop every server connection of ``application_name`` (a restart or a proxy's cut, as the
    clients see it); how many there were."""
    admin = create_engine(url, poolclass=pool.NullPool)
    try:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = :name"
                    ),
                    {"name": application_name},
                ).all()
            )
    finally:
        admin.dispose()

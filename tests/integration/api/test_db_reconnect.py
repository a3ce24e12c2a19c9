"""Pooled PostgreSQL connections the server dropped (a restart, an admin's pg_terminate_backend) are
replaced on checkout: the next request is served, not failed, though pool_pre_ping is off."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import store.db
from store.db import Database
from tests.support.databases import terminate_backends


def test_dropped_idle_connections_are_replaced(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every checked-in connection counts as idle, as it would after the seconds a restart takes.
    monkeypatch.setattr(store.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    name = f"reconnect-{uuid.uuid4().hex[:8]}"
    database = Database(postgres_url, pool_size=2, application_name=name, ping="idle")
    try:
        with database.session() as session:
            first_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert terminate_backends(postgres_url, name) == 1
        for _ in range(3):  # each one served, on a fresh connection
            with database.session() as session:
                pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert pid != first_pid
    finally:
        database.dispose()


@pytest.fixture
def trusting_pool(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, str]]:
    """A pool whose recently used connections are trusted without a ping, and its application name."""
    monkeypatch.setattr(store.db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    name = f"reconnect-{uuid.uuid4().hex[:8]}"
    database = Database(postgres_url, pool_size=2, application_name=name, ping="idle")
    try:
        yield database, name
    finally:
        database.dispose()


def test_without_the_idle_ping_a_dropped_connection_fails_once(
    postgres_url: str, trusting_pool: tuple[Database, str]
) -> None:
    # The control: proves the test above exercises the ping (a recently used connection is trusted).
    database, name = trusting_pool
    with database.session() as session:
        session.execute(text("SELECT 1"))
    assert terminate_backends(postgres_url, name) == 1
    with pytest.raises(DBAPIError):  # the one request that meets the dead connection
        with database.session() as session:
            session.execute(text("SELECT 1"))
    with database.session() as session:  # the pool has dropped it: served again
        assert session.execute(text("SELECT 1")).scalar_one() == 1


def test_the_health_check_reports_the_database_not_a_connection_it_had_dropped(
    postgres_url: str, trusting_pool: tuple[Database, str]
) -> None:
    # The server dropped a trusted connection, but the database itself is up: /health must say
    # reachable, not report the dead socket.
    database, name = trusting_pool
    assert database.check() is None
    assert terminate_backends(postgres_url, name) == 1
    assert database.check() is None
    assert terminate_backends(postgres_url, name) == 1  # the fresh connection served it

"""The API's async PostgreSQL pool (store.pg_async) against a real server: connections the server
dropped are replaced before use, a database that is away is said so at once (with why) and served
again when it is back, and a statement's own error stays the driver's (a bug, not an outage)."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import store.pg_async
from store.db import DatabaseUnavailableError
from store.pg_async import AsyncPostgres
from tests.support.databases import terminate_backends
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

BACKEND_PID = text("SELECT pg_backend_pid()")


def async_pool(url: str, name: str) -> AsyncPostgres:
    return AsyncPostgres(
        make_url(url), max_size=2, connect_args={"application_name": name, "connect_timeout": 5}
    )


def test_connections_the_server_dropped_are_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every returned connection counts as idle, as it would after the seconds a restart takes.
    monkeypatch.setattr(store.pg_async, "PING_AFTER_IDLE_SECONDS", 0.0)
    name = f"aio-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[int, list[int]]:
        aio = async_pool(postgres_url, name)
        try:
            first = (await aio.fetch_one(BACKEND_PID, {}))[0]
            assert await asyncio.to_thread(terminate_backends, postgres_url, name) == 1
            # Each one served, on a fresh connection: none fails on the dead one.
            later = [(await aio.fetch_one(BACKEND_PID, {}))[0] for _ in range(3)]
            return first, later
        finally:
            await aio.close()

    first, later = asyncio.run(scenario())
    assert first not in later


def test_without_the_idle_ping_a_dropped_connection_fails_once_as_unavailable(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: proves the test above exercises the ping (a recently used connection is trusted).
    monkeypatch.setattr(store.pg_async, "PING_AFTER_IDLE_SECONDS", 3600.0)
    name = f"aio-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[str, int]:
        aio = async_pool(postgres_url, name)
        try:
            await aio.fetch_one(BACKEND_PID, {})
            assert await asyncio.to_thread(terminate_backends, postgres_url, name) == 1
            with pytest.raises(DatabaseUnavailableError) as caught:  # 503 for the API, not 500
                await aio.fetch_one(BACKEND_PID, {})
            return caught.value.reason, (await aio.fetch_one(text("SELECT 4"), {}))[0]
        finally:
            await aio.close()

    reason, served = asyncio.run(scenario())
    assert "\n" not in reason and served == 4


def test_a_database_away_is_reported_at_once_and_served_again_when_back(postgres_url: str) -> None:
    url = make_url(postgres_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)

        async def scenario() -> tuple[list[str], int]:
            aio = async_pool(through, f"aio-{uuid.uuid4().hex[:8]}")
            try:
                assert (await aio.fetch_one(text("SELECT 1"), {}))[0] == 1
                proxy.close()  # refused, and the pooled connection cut
                reasons = []
                for _ in range(3):
                    with pytest.raises(DatabaseUnavailableError) as caught:
                        await aio.fetch_one(text("SELECT 1"), {})
                    reasons.append(caught.value.reason)
                proxy.open()
                return reasons, (await aio.fetch_one(text("SELECT 2"), {}))[0]
            finally:
                await aio.close()

        reasons, served = asyncio.run(scenario())
    # The first meets its cut connection; the next ones are told why at once, by a connection of
    # their own (refused), not after waiting out the pool's timeout.
    assert all("\n" not in reason for reason in reasons), reasons
    assert all("Connection refused" in reason for reason in reasons[1:]), reasons
    assert served == 2


def test_a_statements_own_error_is_not_an_outage(postgres_url: str) -> None:
    async def scenario() -> tuple[BaseException, str | None, int]:
        aio = async_pool(postgres_url, f"aio-{uuid.uuid4().hex[:8]}")
        try:
            with pytest.raises(psycopg.Error) as caught:
                await aio.fetch_one(text("SELECT * FROM no_such_table"), {})
            return caught.value, aio.unavailable, (await aio.fetch_one(text("SELECT 3"), {}))[0]
        finally:
            await aio.close()

    error, unavailable, served = asyncio.run(scenario())
    assert isinstance(error, psycopg.errors.UndefinedTable)
    assert unavailable is None and served == 3

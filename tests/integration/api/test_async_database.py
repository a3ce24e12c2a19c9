"""The API's request scopes on PostgreSQL run their queries on the event loop (SQLAlchemy's asyncio
engine, psycopg's async connections), not in threads; on SQLite in a worker thread. Connections the
server drops mid-load fail those requests with an error the API answers 503 (never a 500), and the
pool serves again on fresh connections."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from store.db import Database, RequestScope, unavailable_reason
from tests.integration.api.test_db_reconnect import _terminate_backends


def _backend_pid(db: RequestScope) -> tuple[int, int]:
    with db.read() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid(), pg_sleep(0.01)")).first()
    assert pid is not None
    return int(pid[0]), threading.get_ident()


def _write_then_read(db: RequestScope) -> int:
    with db.write() as conn:
        conn.execute(text("SELECT 1"))
    with db.transaction() as session:
        return int(session.execute(text("SELECT 2")).scalar_one())


@pytest.mark.postgres
def test_postgres_scopes_run_on_the_event_loop(postgres_url: str) -> None:
    database = Database(postgres_url, pool_size=2, ping="idle", asyncio=True)
    assert database.on_event_loop

    async def main() -> None:
        scope = database.request_scope()
        _pid, thread = await scope.run(_backend_pid, scope)
        assert thread == threading.get_ident()  # no thread hop
        assert await scope.run(_write_then_read, scope) == 2
        # The same scope's code still works from a thread (a sync route), on the blocking engine.
        assert await asyncio.to_thread(_write_then_read, scope) == 2
        assert database.pool_status()["class"] == "AsyncAdaptedQueuePool"
        await database.dispose_async()

    try:
        asyncio.run(main())
    finally:
        database.dispose()


def test_sqlite_scopes_run_in_a_worker_thread(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}", asyncio=True)
    assert not database.on_event_loop

    async def main() -> None:
        scope = database.request_scope()
        assert await scope.run(_write_then_read, scope) == 2
        assert await scope.run(lambda: threading.get_ident()) != threading.get_ident()

    try:
        asyncio.run(main())
    finally:
        database.dispose()


@pytest.mark.postgres
def test_connections_dropped_mid_load_fail_as_unavailable_and_the_pool_recovers(postgres_url: str) -> None:
    name = f"async-drop-{uuid.uuid4().hex[:8]}"
    database = Database(
        postgres_url, pool_size=3, max_overflow=2, application_name=name, ping="idle", asyncio=True
    )
    outcomes: list[str] = []

    async def one() -> None:
        scope = database.request_scope()
        try:
            await scope.run(_backend_pid, scope)
            outcomes.append("served")
        except DBAPIError as error:
            reason = unavailable_reason(error)
            assert reason is not None, f"{error!r} would be a 500"
            outcomes.append("unavailable")

    async def load(seconds: float) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.gather(*(one() for _ in range(8)))

    async def main() -> None:
        loader = asyncio.create_task(load(1.5))
        for _ in range(5):
            await asyncio.sleep(0.2)  # the outage's timing, not synchronisation: load runs throughout
            await asyncio.to_thread(_terminate_backends, postgres_url, name)
        await loader
        assert "unavailable" in outcomes and "served" in outcomes, outcomes
        # A connection dropped while trusted (used under a second ago) fails its next request once;
        # the pool then discards it with every connection as old, so the round after is all served.
        await asyncio.gather(*(one() for _ in range(8)))
        outcomes.clear()
        await asyncio.gather(*(one() for _ in range(8)))
        assert outcomes == ["served"] * 8
        await database.dispose_async()

    try:
        asyncio.run(main())
    finally:
        database.dispose()

"""Idempotency records expire: the API purges those past IDEMPOTENCY_KEY_TTL_SECONDS, in batches,
at most once per interval per process (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from api.idempotency import IdempotencyJanitor, purge_expired
from store.accounts import create_user_with_hash
from store.db import Database
from store.migrate import upgrade
from store.models import IdempotencyRecord
from tests.support.passwords import hashed

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = 86400


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    upgrade(database_url)
    db = Database(database_url)
    yield db
    db.dispose()


def add_records(db: Database, *, age: timedelta, count: int, prefix: str) -> None:
    with db.session() as session:
        user_id = create_user_with_hash(
            session, email=f"{prefix}@example.com", password_hash=hashed("password-123")
        ).id
    with db.engine.begin() as conn:
        conn.execute(
            insert(IdempotencyRecord),
            [
                {
                    "user_id": user_id,
                    "key": f"{prefix}-{n}",
                    "request_hash": "0" * 64,
                    "status_code": 201,
                    "response_body": {"id": n},
                    "created_at": NOW - age,
                }
                for n in range(count)
            ],
        )


def keys(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(conn.scalars(select(IdempotencyRecord.key)).all())


def test_the_janitor_purges_expired_keys_once_per_interval(database: Database) -> None:
    add_records(database, age=timedelta(days=2), count=3, prefix="old")
    add_records(database, age=timedelta(hours=1), count=2, prefix="fresh")
    ticks = [1000.0]
    janitor = IdempotencyJanitor(DAY, interval_seconds=60, clock=lambda: ticks[0], now=lambda: NOW)

    assert janitor.maybe_purge(database.engine.begin) == 3
    assert keys(database) == ["fresh-0", "fresh-1"]  # within the time to live: still replayed

    add_records(database, age=timedelta(days=3), count=1, prefix="late")
    ticks[0] += 59
    assert janitor.maybe_purge(database.engine.begin) is None  # not due: no query at all
    assert "late-0" in keys(database)
    ticks[0] += 2
    assert janitor.maybe_purge(database.engine.begin) == 1
    assert keys(database) == ["fresh-0", "fresh-1"]


def test_one_purge_deletes_one_batch_oldest_first(database: Database) -> None:
    add_records(database, age=timedelta(days=5), count=4, prefix="older")
    add_records(database, age=timedelta(days=2), count=3, prefix="old")
    with database.engine.begin() as conn:
        assert purge_expired(conn, older_than=NOW - timedelta(days=1), batch=5) == 5
    left = keys(database)  # the 4 older ones went first, then one of the 3 of the same age
    assert len(left) == 2 and all(key.startswith("old-") for key in left), left
    with database.engine.begin() as conn:
        assert purge_expired(conn, older_than=NOW - timedelta(days=1), batch=5) == 2
        assert conn.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_a_failing_purge_never_fails_the_caller(database: Database) -> None:
    janitor = IdempotencyJanitor(DAY, clock=lambda: 0.0, now=lambda: NOW)

    def broken_begin() -> object:
        raise RuntimeError("database down")

    assert janitor.maybe_purge(broken_begin) is None

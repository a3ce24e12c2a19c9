"""Every list query is an index range scan, never a full table scan per request (both backends).

The queries are the API's own (``list_queries``), planned on a table of 30,000 items with fresh
statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, Select, create_engine, pool

from api.deps import Principal
from api.routes.items import list_queries
from store.accounts import create_user_with_hash
from store.db import Database
from store.migrate import upgrade
from tests.integration.api.bulk import analyze, bulk_insert_items
from tests.support.passwords import hashed


@pytest.fixture
def engine(database_url: str) -> Iterator[tuple[Engine, list[int]]]:
    upgrade(database_url)
    database = Database(database_url)
    with database.session() as session:
        users = [
            create_user_with_hash(
                session, email=f"plan{n}@example.com", password_hash=hashed("password-123")
            ).id
            for n in range(4)
        ]
    database.dispose()
    engine = create_engine(database_url, poolclass=pool.NullPool)
    for user_id in users[:3]:
        bulk_insert_items(engine, user_id=user_id, count=10_000)
    bulk_insert_items(engine, user_id=users[3], count=30)  # a small user among big ones
    analyze(engine)
    yield engine, users
    engine.dispose()


def plan(engine: Engine, query: Select) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + sql).all()
    return "\n".join(str(row[-1]) for row in rows)


def assert_indexed(engine: Engine, query: Select) -> None:
    text = plan(engine, query)
    if engine.dialect.name == "sqlite":
        # SEARCH = a range of an index; a bare "SCAN items" would read the whole table.
        assert "SEARCH items USING" in text and "SCAN items\n" not in text + "\n", text
        assert "USE TEMP B-TREE" not in text, text  # no sort of all rows
    else:
        assert "Seq Scan" not in text and "Index" in text, text
        assert "Sort" not in text.split("Limit")[-1] or "Index" in text, text


def test_user_list_queries_use_indexes(engine: tuple[Engine, list[int]]) -> None:
    eng, users = engine
    user = Principal(
        user_id=users[1], email="plan1@example.com", is_admin=False, created_at=datetime.now(UTC)
    )
    for kwargs in (
        {},
        {"page": 50},
        {"after": 15_000},
        {"status": "done"},
        {"status": "done", "after": 15_000},
        {"q": "item 77"},
    ):
        count_query, rows_query = list_queries(user, limit=50, **kwargs)  # type: ignore[arg-type]
        assert_indexed(eng, rows_query)
        assert_indexed(eng, count_query)


def test_a_small_users_pages_do_not_walk_everyone_elses_items(engine: tuple[Engine, list[int]]) -> None:
    # 30 items among 30,030: walking the primary key backwards and filtering by user would read
    # (nearly) the whole table to fill a page; the (user_id, id) index reads just the user's range.
    eng, users = engine
    small = Principal(
        user_id=users[3], email="plan3@example.com", is_admin=False, created_at=datetime.now(UTC)
    )
    for kwargs in ({}, {"after": 30_000}, {"status": "pending"}):
        count_query, rows_query = list_queries(small, limit=50, **kwargs)  # type: ignore[arg-type]
        for query in (rows_query, count_query):
            text = plan(eng, query)
            assert "ix_items_user_id" in text, text
            assert "items_pkey" not in text, text


def test_admin_pages_walk_the_primary_key_backwards(engine: tuple[Engine, list[int]]) -> None:
    eng, _ = engine
    admin = Principal(user_id=1, email="a@example.com", is_admin=True, created_at=datetime.now(UTC))
    _, rows_query = list_queries(admin, limit=50, after=20_000)
    _, by_status = list_queries(admin, limit=50, status="failed")
    for query in (rows_query, by_status):
        text = plan(eng, query)
        if eng.dialect.name == "sqlite":
            assert "USE TEMP B-TREE" not in text and ("SEARCH items" in text or "USING INDEX" in text), text
        else:
            assert "Seq Scan" not in text, text

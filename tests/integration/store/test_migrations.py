"""Migrations from empty to head and back down, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, pool

from store.migrate import current_revision, downgrade, head_revision, upgrade

TABLES = {"users", "api_keys", "items", "idempotency_keys"}


def tables(database_url: str) -> set[str]:
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    assert tables(database_url) == set()
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert TABLES <= tables(database_url)
    engine = create_engine(database_url, poolclass=pool.NullPool)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("items")}
    engine.dispose()
    assert {"ix_items_user_id_id", "ix_items_user_id_status_id", "ix_items_status_id"} <= indexes

    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert tables(database_url) == set()

    upgrade(database_url)  # and up again: the downgrade left nothing behind that blocks it
    assert current_revision(database_url) == head_revision()
    upgrade(database_url)  # idempotent
    assert TABLES <= tables(database_url)

"""The audit table stays bounded (both backends): recording an entry deletes those older than the
kept days and those beyond the newest kept rows, whatever else is written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from store import audit
from store.db import Database
from store.migrate import upgrade
from store.models import AuditEntry, utcnow


def test_recording_prunes_old_entries_and_keeps_at_most_the_newest_rows(database_url: str) -> None:
    upgrade(database_url)
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        keep = audit.Retention(days=7, rows=100)
        actor = audit.Actor.of_user(1, "ops@example.com")
        now = utcnow()
        for days_ago in (30, 8):  # a month old, and just past the kept days
            audit.record(
                db.engine,
                actor,
                "user.activate",
                "user 2",
                outcome=audit.OK,
                keep=keep,
                now=now - timedelta(days=days_ago),
            )
        first = audit.record(db.engine, actor, "user.delete", "user 3", outcome=audit.OK, keep=keep, now=now)
        with db.engine.connect() as conn:  # older than the kept days: gone, though far under 100 rows
            assert conn.execute(select(AuditEntry.id)).scalars().all() == [first]
        ids = [
            audit.record(
                db.engine,
                actor,
                "queue.requeue",
                f"item {n} of items",
                outcome=audit.FAILED,
                error="x" * 10_000,
                keep=keep,
                now=now,
            )
            for n in range(150)
        ]
        with db.engine.connect() as conn:
            kept = conn.execute(select(AuditEntry.id, AuditEntry.at, func.length(AuditEntry.error))).all()
            page = audit.list_entries(conn, limit=1000)
        assert [row.id for row in kept] == ids[-100:]  # the newest 100; the old ones went first
        assert {row[2] for row in kept} == {audit.ERROR_CHARS}  # a long error is cut, never refused
        assert [e.id for e in page.entries] == ids[-100:][::-1] and page.next_cursor is None
    finally:
        db.dispose()

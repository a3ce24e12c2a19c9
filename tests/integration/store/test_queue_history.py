"""The queue history (both backends): a sample writes one row per queue table and prunes as it
writes, so a month of samples leaves at most the kept hours and rows; a sample too soon after the
last is skipped (several listeners on one database); the history answers at most the points asked
for, with done/failed as rates per minute."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from store import queue_history
from store.db import Database
from store.migrate import upgrade
from store.models import QueueSample

HOUR = 3600
NOW = 1_900_000_000  # a fixed clock (2030): the samples below are placed around it


def rows(db: Database) -> tuple[int, int | None, int | None]:
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count(), func.min(QueueSample.at), func.max(QueueSample.at))).one()
        )


def test_a_month_of_samples_stays_bounded_by_hours_and_rows(database_url: str) -> None:
    upgrade(database_url)
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        # A month of one-minute samples of two queues, as a sampler that never pruned would leave.
        month = [
            {
                "at": NOW - m * 60,
                "queue": q,
                "pending": m % 7,
                "processing": 1,
                "done": 10_000 - m,
                "failed": 0,
            }
            for m in range(1, 30 * 24 * 60)
            for q in ("items", "links")
        ]
        with db.engine.begin() as conn:
            for start in range(0, len(month), 5000):
                conn.execute(insert(QueueSample), month[start : start + 5000])
        assert rows(db)[0] == len(month)

        keep = queue_history.Retention(hours=168, rows=1_000_000)
        written = queue_history.sample(db.engine, keep=keep, now=NOW)
        assert written >= 1  # the items table at least (a fresh database: all counts 0)
        count, oldest, newest = rows(db)
        assert oldest is not None and oldest >= NOW - 168 * HOUR and newest == NOW
        assert count <= 2 * 168 * 60 + written  # a week of two queues, no more

        # The row cap holds too, whatever the hours allow: the newest rows are kept.
        tight = queue_history.Retention(hours=168, rows=500)
        queue_history.sample(db.engine, keep=tight, now=NOW + 60)
        count, _, newest = rows(db)
        assert count <= 500 and newest == NOW + 60

        # Too soon after the last sample (another host's listener took it): skipped.
        assert queue_history.sample(db.engine, keep=tight, min_gap=30, now=NOW + 70) == 0
        assert rows(db)[2] == NOW + 60
    finally:
        db.dispose()


def test_history_is_downsampled_to_at_most_the_points_asked_with_rates(database_url: str) -> None:
    upgrade(database_url)
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        # 7 days every 30 s: 20,160 samples; 2 done a sample (4 a minute), 1 failed every other.
        week = [
            {
                "at": NOW - s * 30,
                "queue": "items",
                "pending": 5,
                "processing": 2,
                "done": 100_000 - 2 * s,
                "failed": 10_000 - s // 2,
            }
            for s in range(7 * 24 * 120)
        ]
        with db.engine.begin() as conn:
            for start in range(0, len(week), 5000):
                conn.execute(insert(QueueSample), week[start : start + 5000])
        with db.engine.connect() as conn:
            points = queue_history.history(conn, queue="items", since=NOW - 7 * 24 * HOUR, until=NOW)
            hour = queue_history.history(conn, queue="items", since=NOW - HOUR, until=NOW, max_points=60)
            none = queue_history.history(conn, queue="links", since=NOW - HOUR, until=NOW)
        assert 300 <= len(points) <= queue_history.MAX_POINTS
        assert [p.at for p in points] == sorted(p.at for p in points) and points[-1].at == NOW
        assert points[0].done_per_minute is None  # nothing before the first point
        assert {p.pending for p in points} == {5.0} and {p.processing for p in points} == {2.0}
        assert all(abs((p.done_per_minute or 0) - 4.0) < 0.2 for p in points[1:])
        assert all(abs((p.failed_per_minute or 0) - 1.0) < 0.2 for p in points[1:])
        assert 55 <= len(hour) <= 60 and none == []
    finally:
        db.dispose()

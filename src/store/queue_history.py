"""The queue history: each queue table's rows by status over time (the ``queue_history`` table).

    written = sample(engine, keep=Retention(hours=168, rows=200_000), min_gap=15)   # the sampler
    points = history(conn, queue="items", since=now - 3600, until=now, max_points=360)  # the API

``sample`` counts every queue (``store.queues``) on a read connection, then writes one row per
queue table in one short transaction, which also prunes: the rows older than ``keep.hours`` and
those beyond the newest ``keep.rows`` (ids only grow: an index range, no count). So the table stays
bounded whatever runs how long, and a writer holds SQLite's lock for milliseconds (the engine's busy
timeout covers the API's writes meanwhile). A sample is skipped when the last one is younger than
``min_gap`` seconds: several health listeners on one database (one per host) do not multiply it.

``history`` answers at most ``max_points`` points whatever the window: samples are grouped in equal
time buckets in SQL (pending and processing averaged, the done and failed totals' latest value), and
done/failed become rates per minute between consecutive points (None across a drop: rows deleted).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select

from store.models import QueueSample
from store.queues import count_queues, queue_tables

TABLE: Table = QueueSample.__table__  # type: ignore[assignment]  # declared as FromClause; it is a Table
MAX_POINTS = 360


@dataclass(frozen=True)
class Retention:
    """How much history is kept: ``hours`` of it, and at most ``rows`` rows."""

    hours: int
    rows: int


@dataclass(frozen=True)
class Point:
    """One point of a queue's history: ``at`` (epoch seconds, the bucket's last sample)."""

    at: int
    pending: float
    processing: float
    done: int
    failed: int
    done_per_minute: float | None
    failed_per_minute: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sample(engine: Engine, *, keep: Retention, min_gap: float = 0.0, now: float | None = None) -> int:
    """Count every queue and write one row per queue table (pruning as it goes); rows written,
    0 when the last sample is younger than ``min_gap`` seconds."""
    at = int(now if now is not None else time.time())
    with engine.connect() as conn:
        counted = count_queues(conn, queue_tables(conn))
        conn.rollback()
    with engine.begin() as conn:
        last = conn.execute(select(func.max(TABLE.c.at))).scalar()
        if last is not None and at - int(last) < min_gap:
            return 0
        rows = [
            {
                "at": at,
                "queue": q.table[:63],
                "pending": q.counts["pending"],
                "processing": q.counts["processing"],
                "done": q.counts["done"],
                "failed": q.counts["failed"],
            }
            for q in counted
        ]
        if rows:
            conn.execute(insert(TABLE), rows)
        prune(conn, keep, now=at)
    return len(rows)


def prune(conn: Connection, keep: Retention, *, now: float) -> int:
    """Delete samples older than ``keep.hours`` and beyond the newest ``keep.rows``; how many."""
    deleted = conn.execute(delete(TABLE).where(TABLE.c.at < int(now) - keep.hours * 3600)).rowcount or 0
    newest = conn.execute(select(func.max(TABLE.c.id))).scalar()
    if newest is not None and newest > keep.rows:
        deleted += conn.execute(delete(TABLE).where(TABLE.c.id <= newest - keep.rows)).rowcount or 0
    return int(deleted)


def bucket_seconds(since: int, until: int, max_points: int) -> int:
    """The width of a bucket so that ``[since, until]`` makes at most ``max_points`` of them."""
    return max(1, math.ceil((until - since + 1) / max_points))


def history(
    conn: Connection, *, queue: str, since: int, until: int, max_points: int = MAX_POINTS
) -> list[Point]:
    """``queue``'s samples in ``[since, until]`` as at most ``max_points`` points, oldest first."""
    if not 1 <= max_points <= MAX_POINTS:
        raise ValueError(f"max_points must be 1 to {MAX_POINTS}")
    width = bucket_seconds(since, until, max_points)
    bucket = ((TABLE.c.at - since) // width).label("bucket")
    query = (
        select(
            bucket,
            func.max(TABLE.c.at),
            func.avg(TABLE.c.pending),
            func.avg(TABLE.c.processing),
            func.max(TABLE.c.done),
            func.max(TABLE.c.failed),
        )
        .where(TABLE.c.queue == queue, TABLE.c.at >= since, TABLE.c.at <= until)
        .group_by(bucket)
        .order_by(bucket)
    )
    points: list[Point] = []
    previous: tuple[int, int, int] | None = None
    for _, at, pending, processing, done, failed in conn.execute(query).all():
        at, done, failed = int(at), int(done), int(failed)
        done_rate = failed_rate = None
        if previous is not None and at > previous[0]:
            minutes = (at - previous[0]) / 60
            done_rate = (done - previous[1]) / minutes if done >= previous[1] else None
            failed_rate = (failed - previous[2]) / minutes if failed >= previous[2] else None
        points.append(
            Point(
                at=at,
                pending=round(float(pending), 2),
                processing=round(float(processing), 2),
                done=done,
                failed=failed,
                done_per_minute=None if done_rate is None else round(done_rate, 2),
                failed_per_minute=None if failed_rate is None else round(failed_rate, 2),
            )
        )
        previous = (at, done, failed)
    return points


def queues_in(conn: Connection, *, since: int) -> list[str]:
    """The queue tables with samples since ``since``, items first."""
    names = conn.execute(select(TABLE.c.queue).where(TABLE.c.at >= since).distinct()).scalars().all()
    return sorted(names, key=lambda name: (name != "items", name))

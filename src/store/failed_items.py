"""Failed items of any queue table: list them, requeue one, requeue them all in batches.

    table = queue_table(conn, "links")                       # None: no such queue table
    page = failed_page(conn, table, limit=50)                # newest first, with the error
    requeue_one(engine, table, 42)                           # NotFailed / NoSuchItem otherwise
    report = requeue_all(engine, table)                      # Requeued(requeued=10000, remaining=0)

A queue table is any table ``store.queues.queue_tables`` finds (the items table, a team's own):
only the queue's columns are touched, so a table's own columns need not be known.

Requeue gives an item a fresh start, as a new one: ``status`` pending, ``attempts`` 0 (it gets
every WORKER_MAX_RETRIES try again, not one), ``error`` cleared (the audit log keeps who
requeued it), due now, no claim. Each update matches ``status = 'failed'``: an item that is no
longer failed (requeued by someone else, deleted) is left as it is and reported (``NotFailed``,
the API's 409). Workers see it like a new item: PostgreSQL's trigger announces a row turning
pending, SQLite's watchers see the database change.

``requeue_all`` works in batches of ``REQUEUE_BATCH`` (one short transaction each, so workers and
the API are never locked out for long) over the items failed when it started (ids up to the
largest failed id then): an item that fails again meanwhile is not requeued twice. At most
``max_items`` in one call; ``remaining`` says how many failed items it left (call again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, func, select, update
from sqlalchemy.types import BigInteger, Integer, Text

from store.models import ItemStatus, UTCDateTime, utcnow
from store.queues import queue_tables

REQUEUE_BATCH = 500
MAX_REQUEUE_ALL = 100_000
MAX_PAGE = 500


class FailedItemsError(Exception):
    """A requeue that changed nothing; the message says why."""


class NoSuchItem(FailedItemsError):
    pass


class NotFailed(FailedItemsError):
    """The item exists but is not failed (any more): nothing was changed."""

    def __init__(self, table: str, item_id: int, status: str) -> None:
        super().__init__(f"item {item_id} of {table} is {status}, not failed: nothing changed")
        self.status = status


@dataclass(frozen=True)
class FailedItem:
    id: int
    error: str | None
    attempts: int
    failed_at: datetime  # when it was last written, i.e. when it failed


@dataclass(frozen=True)
class FailedPage:
    table: str
    items: list[FailedItem]
    total: int  # failed items in the table
    next_cursor: int | None  # ``before`` for the next (older) page; None: no more


@dataclass(frozen=True)
class Requeued:
    requeued: int
    remaining: int  # failed items left in the table afterwards


def _queue_columns(name: str) -> Table:
    """The queue's columns of table ``name`` (the mixin's), without reflecting the table."""
    return Table(
        name,
        MetaData(),
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("status", String(16)),
        Column("attempts", Integer),
        Column("error", Text),
        Column("available_at", UTCDateTime()),
        Column("claimed_by", String(100)),
        Column("claim_token", String(64)),
        Column("lease_expires_at", UTCDateTime()),
        Column("updated_at", UTCDateTime()),
    )


def queue_table(conn: Connection, name: str) -> Table | None:
    """The queue table called ``name`` (exactly), or None when there is none by that name."""
    return _queue_columns(name) if name in queue_tables(conn) else None


def failed_page(conn: Connection, table: Table, *, limit: int, before: int | None = None) -> FailedPage:
    """Failed items newest first (by id, over ``ix_<table>_status_id``), at most ``limit``."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE}")
    c = table.c
    query = (
        select(c.id, c.error, c.attempts, c.updated_at)
        .where(c.status == ItemStatus.FAILED)
        .order_by(c.status, c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(c.id < before)
    rows = conn.execute(query).all()
    total = conn.execute(select(func.count()).where(c.status == ItemStatus.FAILED)).scalar_one()
    items = [
        FailedItem(id=r.id, error=r.error, attempts=r.attempts, failed_at=r.updated_at) for r in rows[:limit]
    ]
    return FailedPage(
        table=table.name,
        items=items,
        total=int(total),
        next_cursor=items[-1].id if len(rows) > limit else None,
    )


def _fresh_start(now: datetime) -> dict[str, object]:
    return {
        "status": ItemStatus.PENDING,
        "attempts": 0,
        "error": None,
        "available_at": now,
        "claimed_by": None,
        "claim_token": None,
        "lease_expires_at": None,
        "updated_at": now,
    }


def requeue_one(engine: Engine, table: Table, item_id: int) -> None:
    """Requeue one failed item. Raises NotFailed (nothing changed) or NoSuchItem."""
    c = table.c
    with engine.begin() as conn:  # the write first: on SQLite it takes the lock cleanly
        changed = conn.execute(
            update(table)
            .where(c.id == item_id, c.status == ItemStatus.FAILED)
            .values(**_fresh_start(utcnow()))
        ).rowcount
        if changed:
            return
        status = conn.execute(select(c.status).where(c.id == item_id)).scalar()
    if status is None:
        raise NoSuchItem(f"no item {item_id} in {table.name}")
    raise NotFailed(table.name, item_id, status)


def count_failed(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(table.c.status == ItemStatus.FAILED)).scalar_one())


def requeue_all(
    engine: Engine, table: Table, *, batch: int = REQUEUE_BATCH, max_items: int = MAX_REQUEUE_ALL
) -> Requeued:
    """Requeue the table's failed items, ``batch`` per transaction, at most ``max_items``."""
    c = table.c
    with engine.connect() as conn:
        upto = conn.execute(select(func.max(c.id)).where(c.status == ItemStatus.FAILED)).scalar()
    requeued = 0
    while upto is not None and requeued < max_items:
        ids = (
            select(c.id)
            .where(c.status == ItemStatus.FAILED, c.id <= upto)
            .order_by(c.status, c.id)
            .limit(min(batch, max_items - requeued))
            .scalar_subquery()
        )
        with engine.begin() as conn:
            changed = conn.execute(
                update(table)
                .where(c.id.in_(ids), c.status == ItemStatus.FAILED)
                .values(**_fresh_start(utcnow()))
            ).rowcount
        if not changed:
            break
        requeued += changed
    return Requeued(requeued=requeued, remaining=count_failed(engine, table))

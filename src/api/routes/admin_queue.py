"""GET /api/v1/admin/queue: how many rows of each queue are in each status, for the operator's chart.

Every queue table (``store.queues``: the items table and any table with the queue's columns, a
team's ``links`` too) counted by ``store.queues.count_queues``, the one count ``ctl status`` and
the workers' metrics use too; the top-level fields are the items table's, ``queues`` has each
queue. Kept for ``QUEUE_SNAPSHOT_SECONDS`` per API process (the list of tables for
``QUEUE_TABLES_SECONDS``), so a room full of open dashboards costs one count a
second per process. Throughput is the change of ``finished`` (done + failed) between two snapshots,
divided by the change of ``at``: the page computes it, so the endpoint stays one cheap read.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError

from api.deps import AdminPrincipal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES
from store import queues
from store.queues import FIRST, count_queues, queue_tables

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

QUEUE_SNAPSHOT_SECONDS = 1.0
QUEUE_TABLES_SECONDS = 5.0  # a queue table created meanwhile shows up within this


class QueueCounts(BaseModel):
    pending: int = 0
    processing: int = 0
    done: int = 0
    failed: int = 0


class QueueTableOut(BaseModel):
    table: str = Field(description="The queue's table.")
    counts: QueueCounts
    total: int = Field(description="Rows in every status.")
    finished: int = Field(description="done + failed: its change over time is the throughput.")

    @classmethod
    def of(cls, counted: queues.QueueCounts) -> QueueTableOut:
        return cls(
            table=counted.table,
            counts=QueueCounts(**counted.counts),
            total=counted.total,
            finished=counted.finished,
        )


class QueueOut(BaseModel):
    counts: QueueCounts = Field(description="The items table's rows by status.")
    total: int = Field(description="Items in every status.")
    finished: int = Field(description="done + failed: its change over time is the throughput.")
    queues: list[QueueTableOut] = Field(
        default_factory=list, description="Every queue table (items first), each by status."
    )
    at: datetime = Field(description="When the counts were taken (UTC).")


class _Snapshot:
    """The app's last counts, shared by concurrent requests for a second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: QueueOut | None = None
        self.taken = 0.0
        self.tables: list[str] = []
        self.tables_taken: float | None = None


def _count(scope: RequestDb, _snapshot: _Snapshot) -> QueueOut:
    with _snapshot.lock:
        now = time.monotonic()
        if _snapshot.value is not None and now - _snapshot.taken < QUEUE_SNAPSHOT_SECONDS:
            return _snapshot.value
        with scope.read() as conn:
            if _snapshot.tables_taken is None or now - _snapshot.tables_taken >= QUEUE_TABLES_SECONDS:
                _snapshot.tables, _snapshot.tables_taken = queue_tables(conn), now
            try:
                found = count_queues(conn, _snapshot.tables)
            except DBAPIError:  # a table dropped since the list was taken: list them again
                conn.rollback()
                _snapshot.tables, _snapshot.tables_taken = queue_tables(conn), now
                found = count_queues(conn, _snapshot.tables)
            counted = [QueueTableOut.of(q) for q in found]
        items = next(
            (q for q in counted if q.table == FIRST),
            QueueTableOut(table=FIRST, counts=QueueCounts(), total=0, finished=0),
        )
        value = QueueOut(
            counts=items.counts,
            total=items.total,
            finished=items.finished,
            queues=counted,
            at=datetime.now(UTC),
        )
        _snapshot.value, _snapshot.taken = value, now
        return value


@router.get("/queue", response_model=QueueOut)
async def queue_counts(request: Request, _admin: AdminPrincipal, scope: RequestDb) -> QueueOut:
    """Every queue's rows by status across all users (admins only), at most a second old."""
    snapshot = getattr(request.app.state, "queue_snapshot", None)
    if snapshot is None:
        snapshot = request.app.state.queue_snapshot = _Snapshot()
    return await scope.run(_count, scope, snapshot)

"""GET /api/v1/admin/queue: how many items are in each status, for the operator's chart.

One grouped count over ``ix_items_status_id`` (an index-only walk on both backends), kept for
``QUEUE_SNAPSHOT_SECONDS`` per API process, so a room full of open dashboards costs one count a
second per process. Throughput is the change of ``finished`` (done + failed) between two snapshots,
divided by the change of ``at``: the page computes it, so the endpoint stays one cheap read.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.deps import AdminPrincipal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES
from store.models import Item, ItemStatus

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

QUEUE_SNAPSHOT_SECONDS = 1.0
_COUNT_BY_STATUS = select(Item.status, func.count()).group_by(Item.status)


class QueueCounts(BaseModel):
    pending: int = 0
    processing: int = 0
    done: int = 0
    failed: int = 0


class QueueOut(BaseModel):
    counts: QueueCounts
    total: int = Field(description="Items in every status.")
    finished: int = Field(description="done + failed: its change over time is the throughput.")
    at: datetime = Field(description="When the counts were taken (UTC).")


class _Snapshot:
    """The app's last counts, shared by concurrent requests for a second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: QueueOut | None = None
        self.taken = 0.0


def _count(scope: RequestDb, _snapshot: _Snapshot) -> QueueOut:
    with _snapshot.lock:
        now = time.monotonic()
        if _snapshot.value is not None and now - _snapshot.taken < QUEUE_SNAPSHOT_SECONDS:
            return _snapshot.value
        with scope.read() as conn:
            rows = conn.execute(_COUNT_BY_STATUS).all()
        counts = {status: int(n) for status, n in rows if status in ItemStatus.ALL}
        value = QueueOut(
            counts=QueueCounts(**counts),
            total=sum(int(n) for _, n in rows),
            finished=counts.get(ItemStatus.DONE, 0) + counts.get(ItemStatus.FAILED, 0),
            at=datetime.now(UTC),
        )
        _snapshot.value, _snapshot.taken = value, now
        return value


@router.get("/queue", response_model=QueueOut)
async def queue_counts(request: Request, _admin: AdminPrincipal, scope: RequestDb) -> QueueOut:
    """Items by status across all users (admins only), at most a second old."""
    snapshot = getattr(request.app.state, "queue_snapshot", None)
    if snapshot is None:
        snapshot = request.app.state.queue_snapshot = _Snapshot()
    return await scope.run(_count, scope, snapshot)

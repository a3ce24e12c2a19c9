"""GET /api/v1/admin/queue/history: a queue's counts by status over the last hours, for the chart.

Read from the ``queue_history`` table the health listener's sampler writes (``ops.queue_sampler``,
``store.queue_history``): one process samples, every API worker only reads. At most
``MAX_POINTS`` points whatever the window (samples grouped in equal time buckets in SQL), so a week
answers as fast and as small as an hour. ``pending`` and ``processing`` are the bucket's average;
``done`` and ``failed`` are totals, with their change as ``*_per_minute`` rates.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import AdminPrincipal, RequestDb, SettingsDep
from api.errors import AUTH_ERROR_RESPONSES
from store import queue_history
from store.queues import FIRST

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)


class HistoryPointOut(BaseModel):
    at: int = Field(description="Seconds since the epoch (UTC) of the bucket's last sample.")
    pending: float = Field(description="Rows pending (the bucket's average).")
    processing: float = Field(description="Rows in flight (the bucket's average).")
    done: int = Field(description="Rows done (a total).")
    failed: int = Field(description="Rows failed (a total).")
    done_per_minute: float | None = Field(description="Rows done per minute since the previous point.")
    failed_per_minute: float | None = Field(description="Rows failed per minute since the previous point.")


class HistoryOut(BaseModel):
    queue: str
    since: int = Field(description="Start of the window (epoch seconds).")
    until: int = Field(description="End of the window (epoch seconds): now.")
    bucket_seconds: int = Field(description="Width of one point's bucket.")
    interval_seconds: float = Field(description="QUEUE_HISTORY_INTERVAL: seconds between two samples.")
    queues: list[str] = Field(description="The queue tables with samples in the window, items first.")
    points: list[HistoryPointOut]


@router.get("/queue/history", response_model=HistoryOut)
def queue_history_points(
    _admin: AdminPrincipal,
    db: RequestDb,
    settings: SettingsDep,
    hours: Annotated[float, Query(gt=0, le=24 * 366, description="How far back, in hours.")] = 1.0,
    queue: Annotated[str, Query(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9_]+$")] = FIRST,
    points: Annotated[int, Query(ge=1, le=queue_history.MAX_POINTS, description="Most points.")] = (
        queue_history.MAX_POINTS
    ),
) -> HistoryOut:
    """``queue``'s rows by status over the last ``hours`` (at most ``points`` points, oldest first)."""
    until = int(time.time())
    since = until - int(hours * 3600)
    with db.read() as conn:
        found = queue_history.history(conn, queue=queue, since=since, until=until, max_points=points)
        names = queue_history.queues_in(conn, since=since)
    return HistoryOut(
        queue=queue,
        since=since,
        until=until,
        bucket_seconds=queue_history.bucket_seconds(since, until, points),
        interval_seconds=settings.QUEUE_HISTORY_INTERVAL,
        queues=names,
        points=[HistoryPointOut(**p.to_dict()) for p in found],
    )

"""/api/v1/admin/queue/{table}/failed: a queue table's failed items, and requeue one or all (admins).

Any queue table (``store.queues.queue_tables``: items, a team's own); an unknown one is a 404.
``store.failed_items`` does the work: requeue means pending again with attempts 0, the error
cleared, due now; an item that is not failed (any more) is a 409 and nothing changes; requeue all
goes in batches of 500, at most 100,000 a call, and says how many it requeued and how many are
still failed. Every requeue is in the audit log (``api.audit``), the refused ones too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Table

from api.audit import Audit
from api.deps import AdminPrincipal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES, Conflict, ErrorResponse, NotFound
from api.path_ids import id_path, plain_digits
from store import failed_items
from store.accounts import MAX_ID
from store.db import RequestScope

router = APIRouter(prefix="/api/v1/admin/queue", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

TableName = Annotated[str, Path(min_length=1, max_length=128, description="a queue table, e.g. `items`")]
FailedId = Annotated[int, plain_digits("item"), id_path("item")]
NO_TABLE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such queue table (or item)"}
}
NOT_FAILED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "The item is not failed (any more): nothing changed"}
}


class FailedItemOut(BaseModel):
    id: int
    error: str | None = Field(description="Why its last attempt failed.")
    attempts: int
    failed_at: datetime = Field(description="When it failed (its last change).")


class FailedPageOut(BaseModel):
    table: str
    items: list[FailedItemOut] = Field(description="Newest first.")
    total: int = Field(description="Failed items in the table.")
    limit: int
    next_cursor: int | None = Field(description="`after` for the next (older) page; null: no more.")


class RequeueOut(BaseModel):
    table: str
    requeued: int = Field(description="Items made pending again.")
    remaining: int = Field(description="Failed items left in the table.")


def _table(db: RequestScope, name: str) -> Table:
    with db.read() as conn:
        table = failed_items.queue_table(conn, name)
    if table is None:
        raise NotFound(f"no queue table {name!r}")
    return table


@router.get("/{table}/failed", response_model=FailedPageOut, responses=NO_TABLE)
def list_failed(
    table: TableName,
    _admin: AdminPrincipal,
    db: RequestDb,
    limit: Annotated[int, Query(ge=1, le=failed_items.MAX_PAGE)] = 50,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="cursor: items with id < after")] = None,
) -> FailedPageOut:
    """A queue table's failed items (id, error, attempts, when), newest first, by cursor."""
    queue = _table(db, table)
    with db.read() as conn:
        page = failed_items.failed_page(conn, queue, limit=limit, before=after)
    return FailedPageOut(
        table=page.table,
        items=[FailedItemOut(**item.__dict__) for item in page.items],
        total=page.total,
        limit=limit,
        next_cursor=page.next_cursor,
    )


@router.post(
    "/{table}/failed/{item_id:id}/requeue", response_model=RequeueOut, responses={**NO_TABLE, **NOT_FAILED}
)
def requeue_failed_item(table: TableName, item_id: FailedId, db: RequestDb, audit: Audit) -> RequeueOut:
    """Make one failed item pending again (attempts 0, error cleared); 409 when it is not failed."""
    with audit.action("queue.requeue", f"item {item_id} of {table}"):
        queue = _table(db, table)
        try:
            failed_items.requeue_one(db.database.engine, queue, item_id)
        except failed_items.NoSuchItem as exc:
            raise NotFound(str(exc)) from None
        except failed_items.NotFailed as exc:
            raise Conflict(str(exc)) from None
        remaining = failed_items.count_failed(db.database.engine, queue)
        return RequeueOut(table=table, requeued=1, remaining=remaining)


@router.post("/{table}/failed/requeue", response_model=RequeueOut, responses=NO_TABLE)
def requeue_all_failed(table: TableName, db: RequestDb, audit: Audit) -> RequeueOut:
    """Make every failed item of the table pending again, in batches of 500 (at most 100,000 a
    call: `remaining` says how many are left)."""
    with audit.action("queue.requeue_all", table) as note:
        queue = _table(db, table)
        report = failed_items.requeue_all(db.database.engine, queue)
        note.detail = f"requeued {report.requeued}, {report.remaining} still failed"
        return RequeueOut(table=table, requeued=report.requeued, remaining=report.remaining)

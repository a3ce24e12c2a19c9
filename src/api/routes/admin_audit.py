"""GET /api/v1/admin/audit: the audit log, newest first, by cursor (admins only).

Who did which admin action, when, on what (and which host), and how it went; written by
``api.audit`` (the API) and ``ctl`` (``store.audit``). Filters are exact: ``action``
(``service.restart``, ``queue.requeue_all``, ...), ``actor`` (an email, or ``os:USER@HOST`` for
``ctl`` without ``--as``) and ``outcome``. At most 200 entries a page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import AdminPrincipal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES
from store import audit
from store.accounts import MAX_ID

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

MAX_LIMIT = 200


class AuditEntryOut(BaseModel):
    id: int
    at: datetime = Field(description="When the action ended (UTC).")
    user_id: int | None = Field(description="The account that acted; null for `ctl` run without --as.")
    actor: str = Field(description="Its email (kept after the account is deleted), or os:USER@HOST.")
    via: str = Field(description="api or ctl")
    action: str = Field(examples=["service.restart"])
    target: str = Field(examples=["worker:worker_0"])
    host: str | None = Field(description="The supervisord host, for a program on another host.")
    outcome: Literal["ok", "failed"]
    error: str | None = Field(description="Why it failed.")
    detail: str | None = Field(description="More about it, e.g. how many items were requeued.")


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    limit: int
    next_cursor: int | None = Field(description="`after` for the next (older) page; null: no more.")


@router.get("/audit", response_model=AuditPageOut)
def list_audit(
    _admin: AdminPrincipal,
    db: RequestDb,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="cursor: entries with id < after")
    ] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    outcome: Annotated[Literal["ok", "failed"] | None, Query()] = None,
) -> AuditPageOut:
    """The audit log, newest first (`after` = the previous page's `next_cursor`)."""
    with db.read() as conn:
        page = audit.list_entries(
            conn, limit=limit, before=after, action=action, actor=actor, outcome=outcome
        )
    return AuditPageOut(
        items=[AuditEntryOut(**entry.__dict__) for entry in page.entries],
        limit=limit,
        next_cursor=page.next_cursor,
    )

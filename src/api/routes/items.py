"""/api/v1/items: list (pages or cursor), create (idempotent), get, patch, delete.

A user sees and changes only their own items (another user's item is a 404); an admin sees all.
Every query is an index range scan: (user_id, id) or (user_id, status, id) for users, the primary
key or (status, id) for admins, and none reads more than the page's offset plus ``COUNT_CAP`` index
entries, so pages stay fast however big the table (or one user's share of it) grows.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi import Path as PathParam
from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.orm import Session

from api.accounts import MAX_ID
from api.deps import CurrentPrincipal, Principal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE, NotFound
from api.idempotency import DuplicateKey, claim_key, request_fingerprint, stored_response
from api.models import Item, ItemStatus, utcnow
from api.schemas import ItemIn, ItemOut, ItemPage, ItemPatch, SafeStr, StatusName

router = APIRouter(prefix="/api/v1/items", tags=["items"], responses=AUTH_ERROR_RESPONSES)

MAX_PAGE = 100_000  # deeper than this, use the cursor (`after`): OFFSET costs grow with the page
# `total` counts at most this many items past the page's offset; beyond, it is a lower bound.
COUNT_CAP = 10_000
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="item id")]


def _visible(principal: Principal) -> list[ColumnElement[bool]]:
    return [] if principal.is_admin else [Item.user_id == principal.user_id]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _get_visible(session: Session, principal: Principal, item_id: int) -> Item:
    item = session.scalar(select(Item).where(Item.id == item_id, *_visible(principal)))
    if item is None:
        raise NotFound(f"no item {item_id}")
    return item


def list_queries(
    principal: Principal,
    *,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    limit: int = 50,
    after: int | None = None,
    count_cap: int | None = None,
) -> tuple[Select[int], Select[Item]]:
    """(count, rows) for a list request. Rows fetch one extra item to tell whether more follow.

    The count is bounded: it counts at most ``offset + count_cap + 1`` (default ``COUNT_CAP``) entries
    (``SELECT count(*) FROM (SELECT 1 ... LIMIT n)``), never a whole user's range or the table.
    A result above ``offset + count_cap`` means "at least that many".
    """
    conditions = _visible(principal)
    if status is not None:
        conditions.append(Item.status == status)
    if q:
        conditions.append(Item.title.ilike(f"%{_escape_like(q)}%", escape="\\"))
    offset = 0 if after is not None else (page - 1) * limit
    cap = COUNT_CAP if count_cap is None else count_cap
    bounded = select(Item.id).where(*conditions).limit(offset + cap + 1).subquery()
    count_query = select(func.count()).select_from(bounded)
    rows_query = select(Item).where(*conditions).order_by(Item.id.desc()).limit(limit + 1)
    if after is not None:
        rows_query = rows_query.where(Item.id < after)
    else:
        rows_query = rows_query.offset(offset)
    return count_query, rows_query


@router.get("", response_model=ItemPage)
def list_items(
    principal: CurrentPrincipal,
    db: RequestDb,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page; ignored with `after`")] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    status: Annotated[StatusName | None, Query(description="only items in this status")] = None,
    q: Annotated[SafeStr | None, Query(max_length=200, description="case-insensitive title search")] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="cursor: items with id < after")] = None,
) -> ItemPage:
    """Items newest first, by page (`page`) or by cursor (`after` = the previous `next_cursor`).

    `total` (and `pages` from it) is exact up to 10,000 items past the page's offset, and always
    exact on the last page. Beyond, it is a lower bound, `offset + 10000`, and `total_is_estimate`
    is true: an exact count would read every one of the caller's matching index entries on every
    request (100,000s at a time), while this one reads at most as many as the page itself skips plus
    10,000. A lower bound keeps paging correct: there is always a next page while one exists, and
    the count grows as the reader goes deeper. Iterators should follow `next_cursor` and not rely
    on `total`. (Per-user counters would be exact but add a write to every create, delete and status
    change, and they cannot serve `status` and `q` filters.)
    """
    if after is not None:
        page = 1
    count_query, rows_query = list_queries(principal, status=status, q=q, page=page, limit=limit, after=after)
    offset = 0 if after is not None else (page - 1) * limit
    with db.transaction() as session:
        rows = list(session.scalars(rows_query))
        has_more = len(rows) > limit
        if after is None and not has_more and (rows or offset == 0):
            counted = offset + len(rows)  # the last page tells the total itself: no count needed
        else:
            counted = session.scalar(count_query) or 0
    rows = rows[:limit]
    ceiling = offset + COUNT_CAP
    total = min(counted, ceiling)
    return ItemPage(
        items=[ItemOut.of(i) for i in rows],
        total=total,
        page=page,
        limit=limit,
        pages=math.ceil(total / limit),
        next_cursor=rows[-1].id if has_more else None,
        total_is_estimate=counted > ceiling,
    )


def _insert(session: Session, principal: Principal, body: ItemIn) -> ItemOut:
    item = Item(
        user_id=principal.user_id,
        title=body.title,
        description=body.description,
        metadata_=body.metadata,
        status=ItemStatus.PENDING,
    )
    session.add(item)
    session.flush()
    return ItemOut.of(item)


@router.post("", status_code=201, response_model=ItemOut, responses=CONFLICT_RESPONSE)
def create_item(
    body: ItemIn,
    principal: CurrentPrincipal,
    db: RequestDb,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="retry-safe creates: the same key returns the first response",
        ),
    ] = None,
) -> Any:
    """Create an item (status `pending`); workers pick it up."""
    if idempotency_key is None:
        with db.transaction() as session:
            return _insert(session, principal, body)
    fingerprint = request_fingerprint(body.model_dump(mode="json"))
    try:
        with db.transaction() as session:
            record = claim_key(
                session, user_id=principal.user_id, key=idempotency_key, fingerprint=fingerprint
            )
            created = _insert(session, principal, body).model_dump(mode="json")
            record.status_code, record.response_body = 201, created
        return created
    except DuplicateKey:
        pass
    with db.transaction() as session:
        stored = stored_response(
            session, user_id=principal.user_id, key=idempotency_key, fingerprint=fingerprint
        )
    response.status_code = stored.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return stored.body


@router.get("/{item_id}", response_model=ItemOut, responses=NOT_FOUND_RESPONSE)
def get_item(item_id: ItemId, principal: CurrentPrincipal, db: RequestDb) -> ItemOut:
    with db.transaction() as session:
        return ItemOut.of(_get_visible(session, principal, item_id))


@router.patch("/{item_id}", response_model=ItemOut, responses=NOT_FOUND_RESPONSE)
def update_item(item_id: ItemId, body: ItemPatch, principal: CurrentPrincipal, db: RequestDb) -> ItemOut:
    """Change any of title, description, metadata; `status: "pending"` queues the item again."""
    changes = body.changes()
    with db.transaction() as session:
        if not changes:
            return ItemOut.of(_get_visible(session, principal, item_id))
        values: dict[Any, Any] = {Item.updated_at: utcnow()}
        for name in ("title", "description"):
            if name in changes:
                values[getattr(Item, name)] = changes[name]
        if "metadata" in changes:
            values[Item.metadata_] = changes["metadata"]
        if "status" in changes:
            # Processed again from scratch: fresh attempts, no error, no lease held by anyone.
            values.update(
                {
                    Item.status: ItemStatus.PENDING,
                    Item.attempts: 0,
                    Item.error: None,
                    Item.available_at: utcnow(),
                    Item.claimed_by: None,
                    Item.claim_token: None,
                    Item.lease_expires_at: None,
                }
            )
        # One UPDATE ... RETURNING: no read-then-write (which SQLite may refuse under concurrency).
        item = session.scalar(
            update(Item)
            .where(Item.id == item_id, *_visible(principal))
            .values(values)
            .returning(Item)
            .execution_options(synchronize_session=False)
        )
        if item is None:
            raise NotFound(f"no item {item_id}")
        return ItemOut.of(item)


@router.delete("/{item_id}", status_code=204, responses=NOT_FOUND_RESPONSE)
def delete_item(item_id: ItemId, principal: CurrentPrincipal, db: RequestDb) -> None:
    with db.transaction() as session:
        result = session.execute(
            delete(Item)
            .where(Item.id == item_id, *_visible(principal))
            .execution_options(synchronize_session=False)
        )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no item {item_id}")

"""/api/v1/items: list (pages or cursor), create one or a batch (idempotent), get, patch, delete.

A user sees and changes only their own items (another user's item is a 404); an admin sees all.
Every query is an index range scan: (user_id, id) or (user_id, status, id) for users, the primary
key or (status, id) for admins, and none reads more than the page's offset plus ``COUNT_CAP`` index
entries, so pages stay fast however big the table (or one user's share of it) grows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from api.deps import CurrentPrincipal, JanitorDep, Principal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE, NotFound
from api.idempotency import (
    DuplicateKey,
    IdempotencyJanitor,
    StoredResponse,
    claim_key,
    claim_key_async,
    record_response_async,
    request_fingerprint,
    stored_response,
    stored_response_async,
)
from api.path_ids import id_path, plain_digits
from api.schemas import (
    ItemBatchIn,
    ItemBatchOut,
    ItemIn,
    ItemOut,
    ItemPage,
    ItemPatch,
    SafeStr,
    StatusName,
)
from store.accounts import MAX_ID
from store.db import RequestScope
from store.models import Item, ItemStatus, utcnow
from store.pg_async import AsyncConnection, AsyncPostgres, Json

router = APIRouter(prefix="/api/v1/items", tags=["items"], responses=AUTH_ERROR_RESPONSES)

MAX_PAGE = 100_000  # deeper than this, use the cursor (`after`): OFFSET costs grow with the page
# `total` counts at most this many items past the page's offset; beyond, it is a lower bound. Counting
# costs index entries read on every list request: 1,000 is 20 pages of 50 ahead, for a fraction of a
# millisecond (10,000 cost more than fetching the page itself, at 100,000 items).
COUNT_CAP = 1_000
# Plain digits only: /items/010 or /items/1_0 is a 404, as a missing id (api.path_ids).
ItemId = Annotated[int, plain_digits("item"), id_path("item")]
# The public columns, named as ItemOut's fields: reads are Core rows, never ORM objects (no identity
# map, no lease fields fetched).
ITEMS: Table = Item.__table__  # type: ignore[assignment]  # declared as FromClause; it is a Table
ITEM_COLUMNS = tuple(ITEMS.c[name] for name in ItemOut.model_fields)
# Built once (the hot path's statements): the expression is not rebuilt per request.
_GET_ANY = select(*ITEM_COLUMNS).where(ITEMS.c.id == bindparam("item_id"))
_GET_OWN = _GET_ANY.where(ITEMS.c.user_id == bindparam("user_id"))
_INSERT = insert(ITEMS).returning(*ITEM_COLUMNS, sort_by_parameter_order=True)
_NEW_ROW_COLUMNS = (
    "user_id",
    "title",
    "description",
    "metadata",
    "status",
    "attempts",
    "available_at",
    "created_at",
    "updated_at",
)
# The async path's single create: every value a named parameter (``_new_row``'s keys).
_INSERT_ONE = (
    insert(ITEMS).values({name: bindparam(name) for name in _NEW_ROW_COLUMNS}).returning(*ITEM_COLUMNS)
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="retry-safe creates: the same key returns the first response",
    ),
]


def _visible(principal: Principal) -> list[ColumnElement[bool]]:
    return [] if principal.is_admin else [ITEMS.c.user_id == principal.user_id]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _get_visible(conn: Connection, principal: Principal, item_id: int) -> ItemOut:
    if principal.is_admin:
        row = conn.execute(_GET_ANY, {"item_id": item_id}).first()
    else:
        row = conn.execute(_GET_OWN, {"item_id": item_id, "user_id": principal.user_id}).first()
    if row is None:
        raise NotFound(f"no item {item_id}")
    return ItemOut.of_row(row)


@functools.cache
def _list_statements(
    everyone: bool, by_status: bool, search: bool, by_cursor: bool
) -> tuple[Select[Any], Select[Any]]:
    """(count, rows) of one shape of list request, built once with named parameters (see
    ``list_params``): the threaded path finds them in SQLAlchemy's compiled cache, the async path
    compiles each once."""
    conditions: list[ColumnElement[bool]] = [] if everyone else [ITEMS.c.user_id == bindparam("user_id")]
    if by_status:
        conditions.append(ITEMS.c.status == bindparam("status"))
    if search:
        conditions.append(ITEMS.c.title.ilike(bindparam("pattern", type_=String()), escape="\\"))
    bounded = (
        select(ITEMS.c.id).where(*conditions).limit(bindparam("count_limit", type_=Integer())).subquery()
    )
    count_query = select(func.count()).select_from(bounded)
    rows_query = (
        select(*ITEM_COLUMNS)
        .where(*conditions)
        .order_by(ITEMS.c.id.desc())
        .limit(bindparam("row_limit", type_=Integer()))
    )
    if by_cursor:
        rows_query = rows_query.where(ITEMS.c.id < bindparam("after"))
    else:
        rows_query = rows_query.offset(bindparam("row_offset", type_=Integer()))
    return count_query, rows_query


def list_params(
    principal: Principal,
    *,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    limit: int = 50,
    after: int | None = None,
    count_cap: int | None = None,
) -> tuple[tuple[Select[Any], Select[Any]], dict[str, Any]]:
    """((count, rows), their parameters) for a list request. Rows fetch one extra item to tell
    whether more follow.

    The count is bounded: it counts at most ``offset + count_cap + 1`` (default ``COUNT_CAP``) entries
    (``SELECT count(*) FROM (SELECT 1 ... LIMIT n)``), never a whole user's range or the table.
    A result above ``offset + count_cap`` means "at least that many".
    """
    offset = 0 if after is not None else (page - 1) * limit
    cap = COUNT_CAP if count_cap is None else count_cap
    params: dict[str, Any] = {"count_limit": offset + cap + 1, "row_limit": limit + 1}
    if not principal.is_admin:
        params["user_id"] = principal.user_id
    if status is not None:
        params["status"] = status
    if q:
        params["pattern"] = f"%{_escape_like(q)}%"
    if after is not None:
        params["after"] = after
    else:
        params["row_offset"] = offset
    statements = _list_statements(principal.is_admin, status is not None, bool(q), after is not None)
    return statements, params


def list_queries(
    principal: Principal,
    *,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    limit: int = 50,
    after: int | None = None,
    count_cap: int | None = None,
) -> tuple[Select[Any], Select[Any]]:
    """(count, rows) for a list request, with its values bound (see ``list_params``): for reading
    a plan or the SQL."""
    (count_query, rows_query), params = list_params(
        principal, status=status, q=q, page=page, limit=limit, after=after, count_cap=count_cap
    )
    return count_query.params(params), rows_query.params(params)


@router.get("", response_model=ItemPage)
async def list_items(
    principal: CurrentPrincipal,
    db: RequestDb,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page; ignored with `after`")] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    status: Annotated[StatusName | None, Query(description="only items in this status")] = None,
    q: Annotated[SafeStr | None, Query(max_length=200, description="case-insensitive title search")] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="cursor: items with id < after")] = None,
) -> ItemPage:
    """Items newest first, by page (`page`) or by cursor (`after` = the previous `next_cursor`).

    `total` (and `pages` from it) is exact up to 1,000 items past the page's offset, and always
    exact on the last page. Beyond, it is a lower bound, `offset + 1000`, and `total_is_estimate`
    is true: an exact count would read every one of the caller's matching index entries on every
    request (100,000s at a time), while this one reads at most as many as the page itself skips plus
    1,000. A lower bound keeps paging correct: there is always a next page while one exists, and
    the count grows as the reader goes deeper. Iterators should follow `next_cursor` and not rely
    on `total`. (Per-user counters would be exact but add a write to every create, delete and status
    change, and they cannot serve `status` and `q` filters.)
    """
    if after is not None:
        page = 1
    if db.aio is not None:
        return await _list_page_async(db.aio, principal, status, q, page, limit, after)
    return await db.run(_list_page, db, principal, status, q, page, limit, after)


def _list_page(
    db: RequestScope,
    principal: Principal,
    status: str | None,
    q: str | None,
    page: int,
    limit: int,
    after: int | None,
) -> ItemPage:
    (count_query, rows_query), params = list_params(
        principal, status=status, q=q, page=page, limit=limit, after=after
    )
    with db.read() as conn:
        rows = conn.execute(rows_query, params).all()
        counted = _counted_by_page(rows, page, limit, after)
        if counted is None:
            counted = conn.execute(count_query, params).scalar() or 0
    return _page(rows, counted, page, limit, after)


async def _list_page_async(
    aio: AsyncPostgres,
    principal: Principal,
    status: str | None,
    q: str | None,
    page: int,
    limit: int,
    after: int | None,
) -> ItemPage:
    """``_list_page`` on the event loop (PostgreSQL): the same statements, one connection."""
    (count_query, rows_query), params = list_params(
        principal, status=status, q=q, page=page, limit=limit, after=after
    )
    async with aio.connection() as conn:
        rows = await aio.fetch_all(rows_query, params, conn=conn)
        counted = _counted_by_page(rows, page, limit, after)
        if counted is None:
            counted = (await aio.fetch_one(count_query, params, conn=conn))[0] or 0
    return _page(rows, counted, page, limit, after)


def _counted_by_page(rows: Sequence[Any], page: int, limit: int, after: int | None) -> int | None:
    """The total when the page itself tells it (the last page: no count needed), else None."""
    offset = 0 if after is not None else (page - 1) * limit
    if after is None and len(rows) <= limit and (rows or offset == 0):
        return offset + len(rows)
    return None


def _page(rows: Sequence[Any], counted: int, page: int, limit: int, after: int | None) -> ItemPage:
    """The answer from the rows (one more than ``limit`` when more follow) and the bounded count."""
    offset = 0 if after is not None else (page - 1) * limit
    has_more = len(rows) > limit
    rows = rows[:limit]
    ceiling = offset + COUNT_CAP
    total = min(counted, ceiling)
    return ItemPage(
        items=ItemOut.of_rows(rows),
        total=total,
        page=page,
        limit=limit,
        pages=math.ceil(total / limit),
        next_cursor=rows[-1][0] if has_more else None,  # id: the first column
        total_is_estimate=counted > ceiling,
    )


def _new_row(principal: Principal, body: ItemIn, now: datetime) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "title": body.title,
        "description": body.description,
        "metadata": body.metadata,
        "status": ItemStatus.PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def _insert_async(
    aio: AsyncPostgres, principal: Principal, body: ItemIn, conn: AsyncConnection | None = None
) -> ItemOut:
    """``_insert`` on the event loop (PostgreSQL); in autocommit without ``conn``: one statement,
    its own transaction."""
    values = {**_new_row(principal, body, utcnow()), "metadata": Json(body.metadata)}
    return ItemOut.of_row(await aio.fetch_one(_INSERT_ONE, values, conn=conn))


def _insert(conn: Connection, principal: Principal, body: ItemIn) -> ItemOut:
    row = conn.execute(_INSERT.values(_new_row(principal, body, utcnow()))).one()
    return ItemOut.of_row(row)


def _insert_many(conn: Connection, principal: Principal, bodies: list[ItemIn]) -> list[ItemOut]:
    """One INSERT ... RETURNING for the batch (SQLAlchemy's insertmanyvalues), rows in input order."""
    now = utcnow()
    rows = conn.execute(_INSERT, [_new_row(principal, body, now) for body in bodies]).all()
    return ItemOut.of_rows(rows)


@router.post("", status_code=201, response_model=ItemOut, responses=CONFLICT_RESPONSE)
async def create_item(
    body: ItemIn,
    principal: CurrentPrincipal,
    db: RequestDb,
    response: Response,
    janitor: JanitorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create an item (status `pending`); workers pick it up."""
    if db.aio is not None:
        if idempotency_key is None:
            return await _insert_async(db.aio, principal, body)
        stored = await _create_once_async(db, principal, body, idempotency_key, janitor)
    elif idempotency_key is None:
        return await db.run(_create, db, principal, body)
    else:
        stored = await db.run(_create_once, db, principal, body, idempotency_key, janitor)
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.status_code = stored.status_code
    return stored.body


def _create(db: RequestScope, principal: Principal, body: ItemIn) -> ItemOut:
    with db.write() as conn:
        return _insert(conn, principal, body)


def _create_once(
    db: RequestScope, principal: Principal, body: ItemIn, key: str, janitor: IdempotencyJanitor
) -> StoredResponse:
    """Create unless ``key`` was used before by this user; either way, the first response."""
    return _once(
        db,
        principal,
        key,
        janitor,
        body.model_dump(mode="json"),
        lambda conn: _insert(conn, principal, body).model_dump(mode="json"),
    )


async def _create_once_async(
    db: RequestScope, principal: Principal, body: ItemIn, key: str, janitor: IdempotencyJanitor
) -> StoredResponse:
    """``_create_once`` on the event loop (PostgreSQL): the key and the item commit together, or
    neither does. The janitor's purge, due once a minute, keeps its thread."""
    aio = db.aio
    assert aio is not None  # noqa: S101 - narrowing: called on the async path only
    if janitor.due():
        await db.run(janitor.maybe_purge, db.write)
    fingerprint = request_fingerprint(body.model_dump(mode="json"))
    try:
        async with aio.transaction() as conn:
            record_id = await claim_key_async(
                aio, conn, user_id=principal.user_id, key=key, fingerprint=fingerprint
            )
            created = (await _insert_async(aio, principal, body, conn)).model_dump(mode="json")
            await record_response_async(aio, conn, record_id, 201, created)
        return StoredResponse(status_code=201, body=created)
    except DuplicateKey:
        pass
    return await stored_response_async(aio, user_id=principal.user_id, key=key, fingerprint=fingerprint)


def _once(
    db: RequestScope,
    principal: Principal,
    key: str,
    janitor: IdempotencyJanitor,
    request_body: dict[str, Any],
    make: Callable[[Connection], dict[str, Any]],
) -> StoredResponse:
    """Run ``make`` (the create, answered 201) unless ``key`` was used before by this user; either
    way, the first response. The key and the rows it creates commit together, or neither does."""
    janitor.maybe_purge(db.write)
    fingerprint = request_fingerprint(request_body)
    try:
        with db.transaction() as session:
            record = claim_key(session, user_id=principal.user_id, key=key, fingerprint=fingerprint)
            created = make(session.connection())
            record.status_code, record.response_body = 201, created
        return StoredResponse(status_code=201, body=created)
    except DuplicateKey:
        pass
    with db.transaction() as session:
        return stored_response(session, user_id=principal.user_id, key=key, fingerprint=fingerprint)


@router.post("/batch", status_code=201, response_model=ItemBatchOut, responses=CONFLICT_RESPONSE)
async def create_items(
    body: ItemBatchIn,
    principal: CurrentPrincipal,
    db: RequestDb,
    response: Response,
    janitor: JanitorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create 1 to 1,000 items in one transaction: all of them, or none.

    Each item is checked as a single create's body (the same fields and limits); one invalid item
    refuses the whole batch with a 422 whose details locate it (`["body", "items", <index>, ...]`)
    and whose message names its index. The answer lists the created items in the order sent.

    A batch is one request for the rate limit (as a single create is): its cost is bounded by the
    1,000 items and the request body limit. With `Idempotency-Key`, the same key and body
    return the first answer (`Idempotent-Replayed: true`), as for single creates; the same key with
    another body is a 409.
    """
    if idempotency_key is None:
        items = await db.run(_create_batch, db, principal, body)
        return ItemBatchOut(items=items)
    stored = await db.run(_create_batch_once, db, principal, body, idempotency_key, janitor)
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.status_code = stored.status_code
    return stored.body


def _create_batch(db: RequestScope, principal: Principal, body: ItemBatchIn) -> list[ItemOut]:
    with db.write() as conn:
        return _insert_many(conn, principal, body.items)


def _create_batch_once(
    db: RequestScope, principal: Principal, body: ItemBatchIn, key: str, janitor: IdempotencyJanitor
) -> StoredResponse:
    def make(conn: Connection) -> dict[str, Any]:
        return ItemBatchOut(items=_insert_many(conn, principal, body.items)).model_dump(mode="json")

    return _once(db, principal, key, janitor, body.model_dump(mode="json"), make)


# `:int`: only digits reach these routes, so /items/batch is the batch route's path alone (a GET
# there is a 405 listing POST, not an invalid item id).
@router.get("/{item_id:id}", response_model=ItemOut, responses=NOT_FOUND_RESPONSE)
async def get_item(item_id: ItemId, principal: CurrentPrincipal, db: RequestDb) -> ItemOut:
    if db.aio is not None:
        return await _get_async(db.aio, principal, item_id)
    return await db.run(_get, db, principal, item_id)


async def _get_async(aio: AsyncPostgres, principal: Principal, item_id: int) -> ItemOut:
    """``_get`` on the event loop (PostgreSQL)."""
    if principal.is_admin:
        row = await aio.fetch_one(_GET_ANY, {"item_id": item_id})
    else:
        row = await aio.fetch_one(_GET_OWN, {"item_id": item_id, "user_id": principal.user_id})
    if row is None:
        raise NotFound(f"no item {item_id}")
    return ItemOut.of_row(row)


def _get(db: RequestScope, principal: Principal, item_id: int) -> ItemOut:
    with db.read() as conn:
        return _get_visible(conn, principal, item_id)


@router.patch("/{item_id:id}", response_model=ItemOut, responses=NOT_FOUND_RESPONSE)
async def update_item(
    item_id: ItemId, body: ItemPatch, principal: CurrentPrincipal, db: RequestDb
) -> ItemOut:
    """Change any of title, description, metadata; `status: "pending"` queues the item again."""
    changes = body.changes()
    if not changes:
        return await db.run(_get, db, principal, item_id)
    return await db.run(_update, db, principal, item_id, changes)


def _update(db: RequestScope, principal: Principal, item_id: int, changes: dict[str, Any]) -> ItemOut:
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    for name in ("title", "description", "metadata"):
        if name in changes:
            values[name] = changes[name]
    if "status" in changes:
        # Processed again from scratch: fresh attempts, no error, no lease held by anyone.
        values.update(
            status=ItemStatus.PENDING,
            attempts=0,
            error=None,
            available_at=now,
            claimed_by=None,
            claim_token=None,
            lease_expires_at=None,
        )
    # One UPDATE ... RETURNING: no read-then-write (which SQLite may refuse under concurrency).
    with db.write() as conn:
        row = conn.execute(
            update(ITEMS)
            .where(ITEMS.c.id == item_id, *_visible(principal))
            .values(values)
            .returning(*ITEM_COLUMNS)
        ).first()
    if row is None:
        raise NotFound(f"no item {item_id}")
    return ItemOut.of_row(row)


@router.delete("/{item_id:id}", status_code=204, responses=NOT_FOUND_RESPONSE)
async def delete_item(item_id: ItemId, principal: CurrentPrincipal, db: RequestDb) -> None:
    await db.run(_delete, db, principal, item_id)


def _delete(db: RequestScope, principal: Principal, item_id: int) -> None:
    with db.write() as conn:
        result = conn.execute(delete(ITEMS).where(ITEMS.c.id == item_id, *_visible(principal)))
    if not result.rowcount:
        raise NotFound(f"no item {item_id}")

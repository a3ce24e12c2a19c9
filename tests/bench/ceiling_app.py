"""The hand-tuned ceiling of ``bin/bench api``: the API's get-by-id, list page and create, written
by hand for speed on PostgreSQL (Starlette, psycopg's AsyncConnectionPool, uvloop and httptools under
the same gunicorn settings), doing the same work as the API and nothing else:

- the same JWT check (HS256 with the server's ``JWT_SECRET``, the same required claims), then the
  user's lookup (``is_active``, ``token_version`` compared with the token's ``ver``);
- get: the item by id and owner; list: the newest 51 of the user's items, the bounded count when more
  follow (at most 1,000 past the page), as ``api.routes.items`` does; create: one INSERT ... RETURNING;
- JSON answers with the item's public fields.

No rate limit, no body or header bounds, no security headers, no metrics, no logging: what those cost
is what ours/ceiling shows. Served by ``tests.bench.bench_api`` as ``gunicorn -c conf/gunicorn.conf.py
--worker-class tests.bench.ceiling_app.CeilingWorker tests.bench.ceiling_app:app``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, ClassVar

import jwt
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn_worker import UvicornWorker

COLUMNS = "id, user_id, title, description, status, metadata, attempts, error, created_at, updated_at"
NAMES = [name.strip() for name in COLUMNS.split(",")]
USER = "SELECT is_active, token_version FROM users WHERE id = %s"
GET = f"SELECT {COLUMNS} FROM items WHERE id = %s AND user_id = %s"
PAGE = f"SELECT {COLUMNS} FROM items WHERE user_id = %s ORDER BY id DESC LIMIT %s"
COUNT = "SELECT count(*) FROM (SELECT id FROM items WHERE user_id = %s LIMIT %s) AS bounded"
INSERT = (
    "INSERT INTO items (user_id, title, description, metadata, status, attempts, available_at, "
    f"created_at, updated_at) VALUES (%s, %s, %s, %s, 'pending', 0, now(), now(), now()) RETURNING {COLUMNS}"
)
COUNT_CAP = 1000


def _conninfo() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


SECRET = os.environ.get("JWT_SECRET", "")
# Made in each worker's lifespan (gunicorn's master imports this module for the worker class too).
pool: AsyncConnectionPool = None  # type: ignore[assignment]


class CeilingWorker(UvicornWorker):
    """uvicorn's gunicorn worker on uvloop and httptools, named rather than left to "auto"."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        "loop": "uvloop",
        "http": "httptools",
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=_default), status, media_type="application/json")


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _item(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(NAMES, row, strict=True))


class _Refused(Exception):
    pass


def _user_id(request: Request) -> tuple[int, int]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise _Refused
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["exp", "iat", "sub", "ver"]}
        )
    except jwt.PyJWTError:
        raise _Refused from None
    return int(claims["sub"]), int(claims["ver"])


async def _authenticated(conn: Any, user_id: int, version: int) -> bool:
    row = await (await conn.execute(USER, (user_id,))).fetchone()
    return row is not None and row[0] and row[1] == version


_UNAUTHORIZED = _json({"error": {"code": "unauthorized"}}, 401)


async def get_item(request: Request) -> Response:
    try:
        user_id, version = _user_id(request)
    except _Refused:
        return _UNAUTHORIZED
    item_id = int(request.path_params["item_id"])
    async with pool.connection() as conn:
        if not await _authenticated(conn, user_id, version):
            return _UNAUTHORIZED
        row = await (await conn.execute(GET, (item_id, user_id))).fetchone()
    if row is None:
        return _json({"error": {"code": "not_found"}}, 404)
    return _json(_item(row))


async def items(request: Request) -> Response:
    try:
        user_id, version = _user_id(request)
    except _Refused:
        return _UNAUTHORIZED
    if request.method == "POST":
        return await _create(request, user_id, version)
    limit = min(max(int(request.query_params.get("limit", 50)), 1), 100)
    async with pool.connection() as conn:
        if not await _authenticated(conn, user_id, version):
            return _UNAUTHORIZED
        rows = await (await conn.execute(PAGE, (user_id, limit + 1))).fetchall()
        has_more = len(rows) > limit
        if has_more:
            counted = (await (await conn.execute(COUNT, (user_id, COUNT_CAP + 1))).fetchone() or (0,))[0]
        else:
            counted = len(rows)
    rows = rows[:limit]
    total = min(counted, COUNT_CAP)
    return _json(
        {
            "items": [_item(row) for row in rows],
            "total": total,
            "page": 1,
            "limit": limit,
            "pages": -(-total // limit),
            "next_cursor": rows[-1][0] if has_more else None,
            "total_is_estimate": counted > COUNT_CAP,
        }
    )


async def _create(request: Request, user_id: int, version: int) -> Response:
    body = json.loads(await request.body())
    title, metadata = body.get("title"), body.get("metadata", {})
    if not isinstance(title, str) or not isinstance(metadata, dict):
        return _json({"error": {"code": "validation_error"}}, 422)
    async with pool.connection() as conn:
        if not await _authenticated(conn, user_id, version):
            return _UNAUTHORIZED
        row = await (
            await conn.execute(INSERT, (user_id, title, body.get("description", ""), Json(metadata)))
        ).fetchone()
    assert row is not None
    return _json(_item(row), 201)


async def health(_request: Request) -> Response:
    return _json({"status": "ok"})


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global pool
    # The API's pool size (DB_POOL_SIZE 5 + DB_MAX_OVERFLOW 10); reads in autocommit, as the API's.
    pool = AsyncConnectionPool(_conninfo(), min_size=5, max_size=15, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    try:
        yield
    finally:
        await pool.close()


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/api/v1/items", items, methods=["GET", "POST"]),
        Route("/api/v1/items/{item_id:int}", get_item),
    ],
    lifespan=lifespan,
)

"""Dependencies shared by the routes, as ``Annotated`` aliases (full-stack-fastapi-template style).

    @router.get("/{item_id}")
    async def get_item(item_id: int, principal: CurrentPrincipal, db: RequestDb) -> ItemOut:
        if db.aio is not None:                                # PostgreSQL: on the event loop
            return await _fetch_async(db.aio, principal, item_id)
        return await db.run(_fetch, db, principal, item_id)   # SQLite: blocking work, one thread hop

``RequestDb`` is one request's database scope, shared by authentication and the route. Dependencies
and routes on the hot path are ``async``. On PostgreSQL, authentication and the hot routes (items
get, list, create) query through the scope's async pool (``db.aio``, store.pg_async) on the event
loop, and hand only the rate-limit check to a thread (see ``_count``); elsewhere (SQLite, and the
other routes) they run their blocking work through ``db.run`` (one thread hop per step, at most the
pool's size at once): FastAPI would give every sync dependency, every sync route and the validation
of a sync route's response a thread hop of its own.

Authentication accepts ``X-API-Key: <key>`` or ``Authorization: Bearer <JWT or API key>``. API keys
are checked against the database on every request, so a revoked key stops working at once in every
worker. Every authenticated request counts against its account's rate limit (one budget for all of
a user's keys and tokens); failed and anonymous attempts count against the client's IP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select, update

from api.errors import Forbidden, Unauthorized
from api.idempotency import IdempotencyJanitor
from api.ratelimit import RateLimiter, RateLimitState
from api.security import InvalidTokenError, decode_access_token, hash_api_key, looks_like_api_key
from config.config import Settings
from store.accounts import MAX_ID
from store.db import Database, RequestScope
from store.models import ApiKey, User, UTCDateTime

if TYPE_CHECKING:
    from store.pg_async import AsyncPostgres

# last_used_at is informational: writing it at most once a minute keeps reads read-only.
LAST_USED_RESOLUTION = timedelta(seconds=60)

api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from POST /api/v1/api-keys",
)
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="Bearer", description="A JWT from POST /api/v1/auth/login, or an API key"
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, and the API key used (None for a JWT)."""

    user_id: int
    email: str
    is_admin: bool
    created_at: datetime
    api_key_id: int | None = None

    @property
    def rate_identity(self) -> str:
        # One budget per account: every API key and token of a user counts against it (a user
        # with ten keys does not get ten times the limit).
        return f"user:{self.user_id}"


# Trivial dependencies are async: a sync one would cost a thread-pool hop per request.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_janitor(request: Request) -> IdempotencyJanitor:
    janitor: IdempotencyJanitor = request.app.state.idempotency_janitor
    return janitor


_SCOPE_KEY = "api.request_db"


def request_db(request: Request) -> RequestScope:
    """The request's database scope, shared by authentication and the route: made on first use and
    kept in the request's ASGI scope. Opening nothing until used (no connection up front), and
    nothing to close at the end: reads, writes and ORM transactions each return their connection
    to the pool when they end."""
    scope: RequestScope | None = request.scope.get(_SCOPE_KEY)
    if scope is None:
        scope = request.scope[_SCOPE_KEY] = request.app.state.db.request_scope()
    return scope


async def get_request_scope(request: Request) -> RequestScope:
    return request_db(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
RequestDb = Annotated[RequestScope, Depends(get_request_scope)]
JanitorDep = Annotated[IdempotencyJanitor, Depends(get_janitor)]


def client_ip(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For from API_TRUSTED_PROXIES (gunicorn forwarded_allow_ips).
    return request.client.host if request.client else "unknown"


# Built once: the lookups run on every request, and a prebuilt statement with bound parameters skips
# building the expression each time (SQLAlchemy then finds its compiled form in its cache). Plain
# Core rows, no ORM session or identity map, on a read connection (no BEGIN/COMMIT on PostgreSQL).
_USER_COLUMNS = (User.id.label("user_id"), User.email, User.is_admin, User.is_active, User.created_at)
_KEY_LOOKUP = (
    select(ApiKey.id, ApiKey.revoked_at, ApiKey.last_used_at, *_USER_COLUMNS)
    .join(User, User.id == ApiKey.user_id)
    .where(ApiKey.key_hash == bindparam("key_hash"))
)
# The token's version is read in the same lookup: binding a token to the account costs no query.
_USER_LOOKUP = select(*_USER_COLUMNS, User.token_version).where(User.id == bindparam("user_id"))
_TOUCH_KEY = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("key_id"))
    .values(last_used_at=bindparam("now", type_=UTCDateTime()))
)


def _principal(row: Any, api_key_id: int | None = None) -> Principal:
    return Principal(
        user_id=row.user_id,
        email=row.email,
        is_admin=row.is_admin,
        created_at=row.created_at,
        api_key_id=api_key_id,
    )


def _by_api_key(db: RequestScope, key: str) -> Principal:
    with db.read() as conn:
        row = conn.execute(_KEY_LOOKUP, {"key_hash": hash_api_key(key)}).first()
    if row is None or row.revoked_at is not None or not row.is_active:
        raise Unauthorized("invalid or revoked API key")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        with db.write() as conn:  # its own transaction: on SQLite a write never follows a read
            conn.execute(_TOUCH_KEY, {"key_id": row.id, "now": now})
    return _principal(row, api_key_id=row.id)


def _by_token(db: RequestScope, settings: Settings, token: str) -> Principal:
    try:
        claims = decode_access_token(token, secret=settings.JWT_SECRET)
    except InvalidTokenError as exc:
        raise Unauthorized(str(exc)) from None
    if claims.user_id > MAX_ID:  # no such row can exist, and PostgreSQL's BIGINT would overflow
        raise Unauthorized("invalid access token")
    with db.read() as conn:
        row = conn.execute(_USER_LOOKUP, {"user_id": claims.user_id}).first()
    # A deleted, deactivated or re-passworded account, or another account with the same id: refused.
    if row is None or not row.is_active or row.token_version != claims.token_version:
        raise Unauthorized("invalid access token")
    return _principal(row)


async def _by_api_key_async(aio: AsyncPostgres, key: str) -> Principal:
    """``_by_api_key`` on the event loop (PostgreSQL): the same lookup and touch, no thread."""
    row = await aio.fetch_one(_KEY_LOOKUP, {"key_hash": hash_api_key(key)}, named=True)
    if row is None or row.revoked_at is not None or not row.is_active:
        raise Unauthorized("invalid or revoked API key")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        await aio.execute(_TOUCH_KEY, {"key_id": row.id, "now": now})  # autocommit: its own transaction
    return _principal(row, api_key_id=row.id)


async def _by_token_async(aio: AsyncPostgres, settings: Settings, token: str) -> Principal:
    """``_by_token`` on the event loop (PostgreSQL)."""
    try:
        claims = decode_access_token(token, secret=settings.JWT_SECRET)
    except InvalidTokenError as exc:
        raise Unauthorized(str(exc)) from None
    if claims.user_id > MAX_ID:
        raise Unauthorized("invalid access token")
    row = await aio.fetch_one(_USER_LOOKUP, {"user_id": claims.user_id}, named=True)
    if row is None or not row.is_active or row.token_version != claims.token_version:
        raise Unauthorized("invalid access token")
    return _principal(row)


async def _count(limiter: RateLimiter, identity: str) -> RateLimitState | None:
    """Count a request on the async path: in a worker thread, the one hop left on it. The counters
    are a SQLite file shared with the server's other processes (or Redis, a network round trip): a
    check waits while another process holds the file's lock, and on the event loop that wait, long
    when the holder is preempted on a busy machine, would stall every request of the worker (get by
    id fell to a fifth of the threaded API's req/s in bin/bench api; docs/benchmarks.md)."""
    return await anyio.to_thread.run_sync(limiter.hit, "default", identity)


def _credential(request: Request) -> tuple[str, bool]:
    """(credential, came from X-API-Key). Raises Unauthorized when none or malformed."""
    raw_key = request.headers.get("x-api-key")
    if raw_key is not None:  # present counts, even empty: an invalid key never falls back to Bearer
        return raw_key.strip(), True
    authorization = request.headers.get("authorization")
    if authorization is None:
        raise Unauthorized("authentication required: send X-API-Key or Authorization: Bearer")
    # As FastAPI's HTTPBearer reads it: "<scheme> <credentials>", the scheme "bearer" in any case.
    scheme, _, value = authorization.partition(" ")
    if not authorization or not scheme or scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("malformed Authorization header: expected 'Bearer <token or API key>'")
    return value.strip(), False


def _identify(
    db: RequestScope,
    settings: Settings,
    limiter: RateLimiter,
    credential: str,
    from_key_header: bool,
    ip: str,
) -> tuple[Principal, RateLimitState | None]:
    """Look the caller up and count the request against their rate limit: blocking work (the
    database, and Redis when the limits are shared), done in one thread hop."""
    try:
        if looks_like_api_key(credential):
            principal = _by_api_key(db, credential)
        elif from_key_header:
            raise Unauthorized("invalid or revoked API key")
        else:
            principal = _by_token(db, settings, credential)
    except Unauthorized:
        limiter.hit("default", f"ip:{ip}")  # guessing costs the guesser's budget
        raise
    return principal, limiter.hit("default", principal.rate_identity)


def _count_failure(limiter: RateLimiter, ip: str) -> None:
    limiter.hit("default", f"ip:{ip}")


async def _identify_async(
    aio: AsyncPostgres, settings: Settings, limiter: RateLimiter, request: Request
) -> tuple[Principal, RateLimitState | None]:
    """``_credential`` and ``_identify`` on the event loop: the same checks, messages and counts."""
    try:
        credential, from_key_header = _credential(request)
        if looks_like_api_key(credential):
            principal = await _by_api_key_async(aio, credential)
        elif from_key_header:
            raise Unauthorized("invalid or revoked API key")
        else:
            principal = await _by_token_async(aio, settings, credential)
    except Unauthorized:
        await _count(limiter, f"ip:{client_ip(request)}")  # guessing costs the guesser's budget
        raise
    return principal, await _count(limiter, principal.rate_identity)


async def authenticate(
    request: Request,
    response: Response,
    # Declared for the OpenAPI schema (its two security schemes); the headers are read below.
    _api_key: Annotated[str | None, Depends(api_key_scheme)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """Who is calling, counted against their rate limit: one dependency, reading the settings,
    the limiter and the request's database scope from the app (no dependency of its own for each)."""
    state = request.app.state
    limiter: RateLimiter = state.limiter
    db = request_db(request)
    if db.aio is not None:  # PostgreSQL: on the event loop, no thread
        principal, counted = await _identify_async(db.aio, state.settings, limiter, request)
    else:
        try:
            credential, from_key_header = _credential(request)
        except Unauthorized:
            await db.run(_count_failure, limiter, client_ip(request))
            raise
        principal, counted = await db.run(
            _identify, db, state.settings, limiter, credential, from_key_header, client_ip(request)
        )
    if counted is not None:
        response.headers.update(counted.headers())
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admin only")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]


def _header_credential(request: Request) -> tuple[str, bool] | None:
    """The credential a request was authenticated with, as ``_credential`` reads it; None if none."""
    raw_key = request.headers.get("x-api-key")
    if raw_key is not None:
        return raw_key.strip(), True
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip(), False


def still_admin(request: Request, principal: Principal) -> bool:
    """Blocking: whether the request's credential still authenticates ``principal`` as an active
    admin (not deactivated, deleted, demoted, re-passworded or revoked since). For a response that
    lasts (a log stream asks again every ``API_LOG_RECHECK_SECONDS``); no rate-limit cost. Raises
    the database's error when it cannot be asked."""
    credential = _header_credential(request)
    if credential is None:
        return False
    key, from_key_header = credential
    scope = request.app.state.db.request_scope()
    try:
        if looks_like_api_key(key):
            current = _by_api_key(scope, key)
        elif from_key_header:
            return False
        else:
            current = _by_token(scope, request.app.state.settings, key)
    except Unauthorized:
        return False
    finally:
        scope.close()
    return current.is_admin and current.user_id == principal.user_id

"""Dependencies shared by the routes, as ``Annotated`` aliases (full-stack-fastapi-template style).

    def read_me(user: CurrentPrincipal, db: DatabaseDep) -> ...

Authentication accepts ``X-API-Key: <key>`` or ``Authorization: Bearer <JWT or API key>``. API keys
are checked against the database on every request, so a revoked key stops working at once in every
worker. Every authenticated request counts against the caller's rate limit; failed and anonymous
attempts count against the client's IP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update

from api.db import Database
from api.errors import Forbidden, Unauthorized
from api.models import ApiKey, User
from api.ratelimit import RateLimiter
from api.security import InvalidTokenError, decode_access_token, hash_api_key, looks_like_api_key
from config.config import Settings

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
        return f"key:{self.api_key_id}" if self.api_key_id is not None else f"user:{self.user_id}"


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


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def client_ip(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For from trusted proxies (gunicorn forwarded_allow_ips).
    return request.client.host if request.client else "unknown"


def _principal(user: User, api_key_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        is_admin=user.is_admin,
        created_at=user.created_at,
        api_key_id=api_key_id,
    )


def _by_api_key(database: Database, key: str) -> Principal:
    with database.session() as session:
        row = session.execute(
            select(ApiKey.id, ApiKey.revoked_at, ApiKey.last_used_at, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == hash_api_key(key))
        ).first()
    if row is None or row.revoked_at is not None or not row.User.is_active:
        raise Unauthorized("invalid or revoked API key")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        with database.session() as session:
            session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return _principal(row.User, api_key_id=row.id)


def _by_token(database: Database, settings: Settings, token: str) -> Principal:
    try:
        user_id = decode_access_token(token, secret=settings.JWT_SECRET)
    except InvalidTokenError as exc:
        raise Unauthorized(str(exc)) from None
    with database.session() as session:
        user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("invalid access token")
    return _principal(user)


def _credential(
    request: Request, api_key: str | None, bearer: HTTPAuthorizationCredentials | None
) -> tuple[str, bool]:
    """(credential, came from X-API-Key). Raises Unauthorized when none or malformed."""
    raw_key = request.headers.get("x-api-key")
    if raw_key is not None:  # present counts, even empty: an invalid key never falls back to Bearer
        return (api_key or raw_key).strip(), True
    authorization = request.headers.get("authorization")
    if authorization is None:
        raise Unauthorized("authentication required: send X-API-Key or Authorization: Bearer")
    if bearer is None or not bearer.credentials.strip():
        raise Unauthorized("malformed Authorization header: expected 'Bearer <token or API key>'")
    return bearer.credentials.strip(), False


def authenticate(
    request: Request,
    response: Response,
    database: DatabaseDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    try:
        credential, from_key_header = _credential(request, api_key, bearer)
        if looks_like_api_key(credential):
            principal = _by_api_key(database, credential)
        elif from_key_header:
            raise Unauthorized("invalid or revoked API key")
        else:
            principal = _by_token(database, settings, credential)
    except Unauthorized:
        limiter.hit("default", f"ip:{client_ip(request)}")  # guessing costs the guesser's budget
        raise
    state = limiter.hit("default", principal.rate_identity)
    if state is not None:
        response.headers.update(state.headers())
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admin only")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]

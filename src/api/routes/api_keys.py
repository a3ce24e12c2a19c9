"""/api/v1/api-keys: create (the key is shown once), list (by pages, newest first), revoke.

A user holds at most ``API_KEYS_MAX_ACTIVE`` keys that are not revoked: one more is a 409 until one
is revoked. All of a user's keys share the account's one rate limit (api.deps).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from api.audit import Auditor
from api.deps import CurrentPrincipal, RequestDb, SettingsDep
from api.errors import (
    AUTH_ERROR_RESPONSES,
    NOT_FOUND_RESPONSE,
    Conflict,
    ErrorResponse,
    NotFound,
    Unauthorized,
)
from api.path_ids import id_path, plain_digits
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, ApiKeyPage
from store.accounts import (
    MAX_ID,
    AccountError,
    TooManyApiKeys,
    api_key_page,
    create_api_key,
    revoke_api_key,
)
from store.models import ApiKey, User

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"], responses=AUTH_ERROR_RESPONSES)

KeyId = Annotated[int, plain_digits("API key"), id_path("API key")]
MAX_PAGE = 100_000
TOO_MANY: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "As many active keys as API_KEYS_MAX_ACTIVE: revoke one first",
    }
}


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=TOO_MANY)
def create_key(
    body: ApiKeyIn, principal: CurrentPrincipal, db: RequestDb, response: Response, settings: SettingsDep
) -> ApiKeyCreated:
    """Create an API key for the caller. The response holds the full key; it is never shown again."""
    response.headers["Cache-Control"] = "no-store"  # a credential: no cache may keep it
    try:
        with db.transaction() as session:
            api_key, key = create_api_key(
                session, user_id=principal.user_id, name=body.name, max_active=settings.API_KEYS_MAX_ACTIVE
            )
    except TooManyApiKeys as exc:
        raise Conflict(str(exc)) from None
    except AccountError as exc:  # the user vanished between authentication and now
        raise Unauthorized(str(exc)) from None
    return ApiKeyCreated(**ApiKeyOut.of(api_key).model_dump(), key=key)


@router.get("", response_model=ApiKeyPage)
def list_keys(
    principal: CurrentPrincipal,
    db: RequestDb,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page; ignored with `after`")] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="cursor: keys with id < after")] = None,
) -> ApiKeyPage:
    """The caller's API keys (without the keys themselves), revoked ones included, newest first, by
    page (`page`) or by cursor (`after` = the previous `next_cursor`), as `GET /api/v1/items`."""
    if after is not None:
        page = 1
    with db.transaction() as session:
        rows, total = api_key_page(
            session, user_id=principal.user_id, limit=limit, offset=(page - 1) * limit, before=after
        )
        keys = [ApiKeyOut.of(k) for k in rows[:limit]]
    return ApiKeyPage(
        items=keys,
        total=total,
        page=page,
        limit=limit,
        pages=math.ceil(total / limit),
        next_cursor=keys[-1].id if len(rows) > limit else None,
    )


@router.delete("/{key_id}", status_code=204, responses=NOT_FOUND_RESPONSE)
def revoke_key(key_id: KeyId, principal: CurrentPrincipal, db: RequestDb, settings: SettingsDep) -> None:
    """Revoke one of the caller's keys (an admin may revoke any, and that is in the audit log).
    It stops working at once."""
    if not principal.is_admin:
        _revoke(db, key_id, principal.user_id)
        return
    with Auditor.of(db, settings, principal).action("api_key.revoke", f"API key {key_id}") as note:
        note.detail = _revoke(db, key_id, None)


def _revoke(db: RequestDb, key_id: int, user_id: int | None) -> str:
    """Revoke (of ``user_id`` when given); the owner's email. NotFound when there is no such key."""
    with db.transaction() as session:
        found = revoke_api_key(session, key_id=key_id, user_id=user_id)
        owner = session.scalar(
            select(User.email).join(ApiKey, ApiKey.user_id == User.id).where(ApiKey.id == key_id)
        )
    if not found or owner is None:
        raise NotFound(f"no API key {key_id}")
    return f"of {owner}"

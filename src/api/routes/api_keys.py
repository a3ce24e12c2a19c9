"""/api/v1/api-keys: create (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import CurrentPrincipal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES, NOT_FOUND_RESPONSE, NotFound, Unauthorized
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from store.accounts import MAX_ID, AccountError, create_api_key, list_api_keys, revoke_api_key

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"], responses=AUTH_ERROR_RESPONSES)

KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="API key id")]


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_key(
    body: ApiKeyIn, principal: CurrentPrincipal, db: RequestDb, response: Response
) -> ApiKeyCreated:
    """Create an API key for the caller. The response holds the full key; it is never shown again."""
    response.headers["Cache-Control"] = "no-store"  # a credential: no cache may keep it
    try:
        with db.transaction() as session:
            api_key, key = create_api_key(session, user_id=principal.user_id, name=body.name)
    except AccountError as exc:  # the user vanished between authentication and now
        raise Unauthorized(str(exc)) from None
    return ApiKeyCreated(**ApiKeyOut.of(api_key).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(principal: CurrentPrincipal, db: RequestDb) -> list[ApiKeyOut]:
    """The caller's API keys (without the keys themselves), revoked ones included."""
    with db.transaction() as session:
        keys = list_api_keys(session, user_id=principal.user_id)
    return [ApiKeyOut.of(k) for k in keys]


@router.delete("/{key_id}", status_code=204, responses=NOT_FOUND_RESPONSE)
def revoke_key(key_id: KeyId, principal: CurrentPrincipal, db: RequestDb) -> None:
    """Revoke one of the caller's keys (an admin may revoke any). It stops working at once."""
    with db.transaction() as session:
        found = revoke_api_key(
            session, key_id=key_id, user_id=None if principal.is_admin else principal.user_id
        )
    if not found:
        raise NotFound(f"no API key {key_id}")

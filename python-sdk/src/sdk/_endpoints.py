"""One function per API operation, each describing its request and how to read the answer.

Both clients call these, so the paths, parameters and parsing exist once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sdk._constants import API_PREFIX, MAX_BATCH_BYTES, MAX_BATCH_ITEMS
from sdk._request import RequestSpec
from sdk.exceptions import UnexpectedResponseError
from sdk.models import ApiKey, ApiKeyPage, HealthStatus, Item, PaginatedResponse


def health() -> RequestSpec[HealthStatus]:
    # 503 carries the same body with status "unhealthy": report it rather than retry and raise.
    return RequestSpec(
        "GET", "/health", parse=HealthStatus.from_dict, needs_auth=False, answer_statuses=frozenset({503})
    )


def login(email: str, password: str) -> RequestSpec[dict[str, Any]]:
    # Safe to send again although a POST: a login changes nothing on the server (it signs a token
    # that is stored nowhere), so a second one after a lost answer just signs another.
    return RequestSpec(
        "POST",
        f"{API_PREFIX}/auth/login",
        json={"email": email, "password": password},
        parse=_token_payload,
        needs_auth=False,
        replay_safe=True,
    )


def _token_payload(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise TypeError("no access_token in the login response")
    return body


def list_items(
    *,
    page: int | None = None,
    limit: int,
    status: str | None = None,
    q: str | None = None,
    after: int | None = None,
) -> RequestSpec[PaginatedResponse]:
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    elif page is not None:
        params["page"] = page
    if status is not None:
        params["status"] = status
    if q is not None:
        params["q"] = q
    return RequestSpec("GET", f"{API_PREFIX}/items", params=params, parse=PaginatedResponse.from_dict)


def list_api_keys(
    *, page: int | None = None, limit: int, after: int | None = None
) -> RequestSpec[ApiKeyPage]:
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    elif page is not None:
        params["page"] = page
    return RequestSpec("GET", f"{API_PREFIX}/api-keys", params=params, parse=ApiKeyPage.from_dict)


def create_api_key(name: str) -> RequestSpec[ApiKey]:
    # Not sent again once it may have reached the server: a repeat would make a second key (and
    # take a second of the user's API_KEYS_MAX_ACTIVE slots) whose secret nobody ever saw.
    return RequestSpec(
        "POST", f"{API_PREFIX}/api-keys", json={"name": name}, parse=ApiKey.from_dict, replay_safe=False
    )


def revoke_api_key(key_id: int) -> RequestSpec[None]:
    # Revoking twice is revoking once (the API answers 204 again): safe to repeat.
    return RequestSpec("DELETE", f"{API_PREFIX}/api-keys/{int(key_id)}", parse=None)


def next_cursor(page: PaginatedResponse | ApiKeyPage, after: int | None) -> int | None:
    """The cursor for the next page, or None at the end; refuses a cursor that does not advance."""
    cursor = page.next_cursor
    if cursor is not None and after is not None and cursor >= after:
        raise UnexpectedResponseError(
            f"the API returned next_cursor={cursor} after {after}: paging would loop"
        )
    return cursor


def create_item(
    *, title: str, description: str, metadata: dict[str, Any] | None, idempotency_key: str | None
) -> RequestSpec[Item]:
    body: dict[str, Any] = {"title": title, "description": description}
    if metadata is not None:
        body["metadata"] = metadata
    # One key for every attempt of this call, so a retry after a lost response creates nothing new.
    key = idempotency_key or f"sdk-{uuid.uuid4()}"
    return RequestSpec(
        "POST", f"{API_PREFIX}/items", json=body, parse=Item.from_dict, headers={"Idempotency-Key": key}
    )


ITEM_FIELDS = frozenset({"title", "description", "metadata"})


def batch_bodies(items: Iterable[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """``create_items``' list as request bodies: at most MAX_BATCH_ITEMS items and about
    MAX_BATCH_BYTES of JSON each, in order. The split depends on the items alone, so the same list
    is split the same way each time (what keeps per-chunk idempotency keys stable).

    Each element must be a mapping of ``create_item``'s fields with a ``title``; anything else is
    refused here, naming its index, before anything is sent (the API checks the values).
    """
    chunks: list[list[dict[str, Any]]] = []
    chunk: list[dict[str, Any]] = []
    size = 0
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            kind = type(item).__name__
            raise TypeError(f"items[{index}] must be a dict of create_item's fields, got {kind}")
        unknown = set(item) - ITEM_FIELDS
        if unknown:
            raise ValueError(
                f"items[{index}] has unknown fields {sorted(map(str, unknown))}: "
                f"create_item takes {', '.join(sorted(ITEM_FIELDS))}"
            )
        if "title" not in item:
            raise ValueError(f"items[{index}] has no title")
        body = {k: v for k, v in item.items() if not (k == "metadata" and v is None)}
        # ASCII-escaped JSON is never shorter than the UTF-8 that is sent: a safe upper bound.
        item_size = len(json.dumps(body, separators=(",", ":"), default=str)) + 1
        if chunk and (len(chunk) == MAX_BATCH_ITEMS or size + item_size > MAX_BATCH_BYTES):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(body)
        size += item_size
    if chunk:
        chunks.append(chunk)
    return chunks


def batch_key(idempotency_key: str | None, chunk_number: int) -> str:
    """The Idempotency-Key of one request of ``create_items``: the caller's for the first, with
    ``.1``, ``.2`` ... appended for the following ones; a fresh random one without a caller's key."""
    if idempotency_key is None:
        return f"sdk-{uuid.uuid4()}"
    return idempotency_key if chunk_number == 0 else f"{idempotency_key}.{chunk_number}"


def create_batch(bodies: list[dict[str, Any]], key: str) -> RequestSpec[list[Item]]:
    # One key for every attempt, so a retry after a lost answer creates nothing new.
    return RequestSpec(
        "POST",
        f"{API_PREFIX}/items/batch",
        json={"items": bodies},
        parse=_batch_items,
        headers={"Idempotency-Key": key},
    )


def _batch_items(body: Any) -> list[Item]:
    return Item.from_dicts(body["items"])


def get_item(item_id: int) -> RequestSpec[Item]:
    return RequestSpec("GET", f"{API_PREFIX}/items/{int(item_id)}", parse=Item.from_dict)


def update_item(
    item_id: int,
    *,
    title: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    status: str | None,
) -> RequestSpec[Item]:
    given = {"title": title, "description": description, "metadata": metadata, "status": status}
    body = {k: v for k, v in given.items() if v is not None}
    # Not sent again once it may have reached the server: sent later, the same fields would undo
    # what happened in between (another client's edit, or a worker finishing an item that
    # status="pending" queued, which would then be queued and processed a second time).
    return RequestSpec(
        "PATCH", f"{API_PREFIX}/items/{int(item_id)}", json=body, parse=Item.from_dict, replay_safe=False
    )


def delete_item(item_id: int) -> RequestSpec[None]:
    # A 404 on a retry means the first attempt deleted it and its answer was lost: done, not an error.
    return RequestSpec("DELETE", f"{API_PREFIX}/items/{int(item_id)}", parse=None, gone_on_retry_ok=True)


def _as_is(body: Any) -> Any:
    return body


def custom(
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None,
    json: Any,
    headers: Mapping[str, str] | None,
) -> RequestSpec[Any]:
    """Any route of the API (a team's own, before it has a method): the decoded JSON answer."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"path must start with one '/' (a path on the API, e.g. '/api/v1/notes'): {path!r}")
    return RequestSpec(
        method.upper(),
        path,
        params=dict(params) if params else None,
        json=json,
        headers=dict(headers or {}),
        parse=_as_is,
        empty_ok=True,
    )


def note_partial_batch(exc: BaseException, *, done: int) -> None:
    """Say on the error of a later ``create_items`` request what the earlier ones created."""
    if done:
        exc.add_note(
            f"create_items: the {done} items before this request were created (items[0:{done}]); "
            f"the index in this error counts from items[{done}]. Call again with the same "
            "idempotency_key to create only what is missing."
        )

"""Every endpoint against the real API (gunicorn, 2 workers) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.integration.api.conftest import Caller, LiveApi
from tests.support import plain_http

ITEM_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "status",
    "metadata",
    "attempts",
    "error",
    "created_at",
    "updated_at",
}


def create(http: httpx.Client, caller: Caller, title: str = "an item", **fields: object) -> dict:
    response = http.post("/api/v1/items", json={"title": title, **fields}, headers=caller.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_health_reports_the_backend(live_api: LiveApi, http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"] == {
        "reachable": True,
        "backend": "sqlite" if live_api.backend == "sqlite" else "postgresql",
    }
    assert "size" in body["connection_pool"]


def test_login_returns_a_token_that_authenticates(http: httpx.Client, owner: Caller) -> None:
    response = http.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password})
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    me = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == owner.email


def test_login_with_the_email_in_other_case_works(http: httpx.Client, owner: Caller) -> None:
    response = http.post(
        "/api/v1/auth/login", json={"email": owner.email.upper(), "password": owner.password}
    )
    assert response.status_code == 200


def test_wrong_password_and_unknown_email_are_the_same_401(http: httpx.Client, owner: Caller) -> None:
    wrong = http.post("/api/v1/auth/login", json={"email": owner.email, "password": "not-the-password"})
    unknown = http.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == {
            "code": "unauthorized",
            "message": "invalid email or password",
            "details": [],
            "request_id": response.headers["X-Request-ID"],
        }


def test_me_with_api_key_in_either_header(http: httpx.Client, owner: Caller) -> None:
    for headers in ({"X-API-Key": owner.api_key}, {"Authorization": f"Bearer {owner.api_key}"}):
        response = http.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"id", "email", "is_admin", "created_at"}
        assert (body["id"], body["is_admin"]) == (owner.id, False)
        assert datetime.fromisoformat(body["created_at"]).tzinfo is not None


def test_api_key_lifecycle(http: httpx.Client, live_api: LiveApi) -> None:
    caller = live_api.new_user()
    created = http.post("/api/v1/api-keys", json={"name": "ci"}, headers=caller.headers)
    assert created.status_code == 201
    key = created.json()
    assert set(key) == {"id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "key"}
    assert key["key"].startswith(f"sk_{key['prefix']}_") and len(key["key"]) >= 3 + 9 + 43
    assert http.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]}).status_code == 200

    listed = http.get("/api/v1/api-keys", headers=caller.headers).json()
    assert [k["name"] for k in listed["items"]] == ["ci", "tests"]  # newest first, as the items
    assert (listed["total"], listed["page"], listed["pages"], listed["next_cursor"]) == (2, 1, 1, None)
    assert all("key" not in k for k in listed["items"])

    assert http.delete(f"/api/v1/api-keys/{key['id']}", headers=caller.headers).status_code == 204
    # Revoked at once: fresh connections (spread over both gunicorn workers) all refuse it.
    for _ in range(6):
        assert (
            plain_http.get(f"{live_api.url}/api/v1/auth/me", headers={"X-API-Key": key["key"]}).status_code
            == 401
        )
    listed = {k["id"]: k for k in http.get("/api/v1/api-keys", headers=caller.headers).json()["items"]}
    assert listed[key["id"]]["revoked_at"] is not None
    assert listed[key["id"]]["last_used_at"] is not None
    assert http.delete("/api/v1/api-keys/999999", headers=caller.headers).status_code == 404


def test_create_and_get_item(http: httpx.Client, owner: Caller) -> None:
    item = create(http, owner, "write report", description="quarterly", metadata={"priority": 2})
    assert set(item) == ITEM_FIELDS
    assert item["status"] == "pending" and item["attempts"] == 0 and item["error"] is None
    assert item["user_id"] == owner.id
    assert datetime.fromisoformat(item["created_at"]).utcoffset() is not None
    fetched = http.get(f"/api/v1/items/{item['id']}", headers=owner.headers)
    assert fetched.status_code == 200 and fetched.json() == item


def test_patch_changes_only_given_fields(http: httpx.Client, owner: Caller) -> None:
    item = create(http, owner, "draft", description="keep me", metadata={"a": 1})
    response = http.patch(f"/api/v1/items/{item['id']}", json={"title": "final"}, headers=owner.headers)
    assert response.status_code == 200
    patched = response.json()
    assert (patched["title"], patched["description"], patched["metadata"]) == ("final", "keep me", {"a": 1})
    assert patched["updated_at"] >= item["updated_at"]
    metadata = http.patch(
        f"/api/v1/items/{item['id']}", json={"metadata": {"b": [1, 2]}}, headers=owner.headers
    )
    assert metadata.json()["metadata"] == {"b": [1, 2]}
    assert (
        http.patch(f"/api/v1/items/{item['id']}", json={}, headers=owner.headers).json()["title"] == "final"
    )


def test_patch_status_pending_requeues_a_failed_item(
    http: httpx.Client, owner: Caller, live_api: LiveApi
) -> None:
    from sqlalchemy import update

    from store.models import Item

    item = create(http, owner, "flaky")
    with live_api.database.session() as session:  # what a worker does when it gives up
        session.execute(
            update(Item).where(Item.id == item["id"]).values(status="failed", attempts=5, error="boom")
        )
    response = http.patch(f"/api/v1/items/{item['id']}", json={"status": "pending"}, headers=owner.headers)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"], response.json()["error"]) == (
        "pending",
        0,
        None,
    )
    refused = http.patch(f"/api/v1/items/{item['id']}", json={"status": "done"}, headers=owner.headers)
    assert refused.status_code == 422


def test_delete_item(http: httpx.Client, owner: Caller) -> None:
    item = create(http, owner, "short-lived")
    assert http.delete(f"/api/v1/items/{item['id']}", headers=owner.headers).status_code == 204
    assert http.get(f"/api/v1/items/{item['id']}", headers=owner.headers).status_code == 404
    assert http.delete(f"/api/v1/items/{item['id']}", headers=owner.headers).status_code == 404


def test_list_pages_newest_first(http: httpx.Client, live_api: LiveApi) -> None:
    caller = live_api.new_user()
    ids = [create(http, caller, f"item {n}")["id"] for n in range(7)]
    first = http.get("/api/v1/items", params={"limit": 3}, headers=caller.headers).json()
    assert [i["id"] for i in first["items"]] == ids[::-1][:3]
    assert (first["total"], first["page"], first["limit"], first["pages"]) == (7, 1, 3, 3)
    assert first["next_cursor"] == ids[::-1][2]
    last = http.get("/api/v1/items", params={"limit": 3, "page": 3}, headers=caller.headers).json()
    assert [i["id"] for i in last["items"]] == [ids[0]] and last["next_cursor"] is None
    beyond = http.get("/api/v1/items", params={"limit": 3, "page": 4}, headers=caller.headers).json()
    assert beyond["items"] == [] and beyond["total"] == 7
    default = http.get("/api/v1/items", headers=caller.headers).json()
    assert default["limit"] == 50 and len(default["items"]) == 7


def test_cursor_iterates_without_skips_or_repeats_while_items_are_created(
    http: httpx.Client, live_api: LiveApi
) -> None:
    caller = live_api.new_user()
    ids = [create(http, caller, f"n{n}")["id"] for n in range(10)]
    seen: list[int] = []
    calls = 0
    after = None
    while True:
        params = {"limit": 4, **({"after": after} if after else {})}
        page = http.get("/api/v1/items", params=params, headers=caller.headers).json()
        calls += 1
        seen += [i["id"] for i in page["items"]]
        create(http, caller, "created meanwhile")  # newer than everything: must not appear
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == ids[::-1]
    assert calls == 3  # ceil(10 / 4)


def test_list_filters_by_status_and_title(http: httpx.Client, live_api: LiveApi) -> None:
    from sqlalchemy import update

    from store.models import Item

    caller = live_api.new_user()
    apple = create(http, caller, "Green APPLE pie")
    create(http, caller, "banana")
    odd = create(http, caller, "100% _literal_")
    with live_api.database.session() as session:
        session.execute(update(Item).where(Item.id == apple["id"]).values(status="done"))
    by_status = http.get("/api/v1/items", params={"status": "done"}, headers=caller.headers).json()
    assert [i["id"] for i in by_status["items"]] == [apple["id"]] and by_status["total"] == 1
    by_title = http.get("/api/v1/items", params={"q": "apple"}, headers=caller.headers).json()
    assert [i["id"] for i in by_title["items"]] == [apple["id"]]
    # LIKE wildcards in q are literal characters.
    assert [
        i["id"]
        for i in http.get("/api/v1/items", params={"q": "0% _l"}, headers=caller.headers).json()["items"]
    ] == [odd["id"]]
    assert http.get("/api/v1/items", params={"q": "_"}, headers=caller.headers).json()["total"] == 1
    none = http.get(
        "/api/v1/items", params={"q": "apple", "status": "pending"}, headers=caller.headers
    ).json()
    assert none["items"] == [] and none["total"] == 0 and none["pages"] == 0


def test_request_id_is_echoed_or_generated(http: httpx.Client, owner: Caller) -> None:
    echoed = http.get("/api/v1/auth/me", headers={**owner.headers, "X-Request-ID": "trace-123"})
    assert echoed.headers["X-Request-ID"] == "trace-123"
    generated = http.get("/api/v1/items/424242", headers=owner.headers)
    assert generated.status_code == 404 and len(generated.headers["X-Request-ID"]) >= 16
    unsafe = http.get("/health", headers={"X-Request-ID": "evil\tvalue"})
    assert unsafe.headers["X-Request-ID"] != "evil\tvalue"


def test_openapi_documents_errors_and_auth_schemes(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    get_item = schema["paths"]["/api/v1/items/{item_id}"]["get"]
    for status in ("401", "404", "422", "429"):
        assert get_item["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
    assert {"ApiKey": []} in get_item["security"] and {"Bearer": []} in get_item["security"]
    item_schema = schema["components"]["schemas"]["ItemOut"]["properties"]
    assert not {"available_at", "claimed_by", "claim_token", "lease_expires_at"} & set(item_schema)


def test_login_upgrades_a_legacy_bcrypt_hash_to_argon2(http: httpx.Client, live_api: LiveApi) -> None:
    import bcrypt
    from sqlalchemy import select, update

    from store.models import User

    caller = live_api.new_user()
    legacy = bcrypt.hashpw(b"legacy-password", bcrypt.gensalt(rounds=4)).decode()
    with live_api.database.session() as session:
        session.execute(update(User).where(User.id == caller.id).values(password_hash=legacy))
    body = {"email": caller.email, "password": "legacy-password"}
    assert http.post("/api/v1/auth/login", json=body).status_code == 200
    with live_api.database.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == caller.id))
    assert stored is not None and stored.startswith("$argon2id$")
    assert http.post("/api/v1/auth/login", json=body).status_code == 200  # and the new hash works

"""Who may do what: owner, another user, admin, anonymous, revoked key, expired and forged JWTs,
and deactivated and deleted users (their tokens and keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.security import create_access_token
from store.accounts import deactivate_user, delete_user
from tests.integration.api.conftest import Caller, LiveApi


@pytest.fixture(scope="module")
def item(http: httpx.Client, owner: Caller) -> dict:
    response = http.post("/api/v1/items", json={"title": "owned"}, headers=owner.headers)
    assert response.status_code == 201
    return response.json()


def _secret(live_api: LiveApi) -> str:
    return live_api.server.env["JWT_SECRET"]


def bad_credentials(live_api: LiveApi, http: httpx.Client) -> dict[str, dict[str, str]]:
    victim = live_api.new_user()
    assert http.delete(f"/api/v1/api-keys/{victim.api_key_id}", headers=victim.headers).status_code == 204
    expired = create_access_token(
        victim.id, secret=_secret(live_api), expires_in=60, now=datetime.now(UTC) - timedelta(hours=2)
    )
    forged = create_access_token(
        victim.id, secret="not-the-server-secret-but-long-enough-for-hs256", expires_in=600
    )
    unknown_user = create_access_token(10**9, secret=_secret(live_api), expires_in=600)
    stale = create_access_token(victim.id, token_version=-1, secret=_secret(live_api), expires_in=600)
    switched_off = live_api.new_user(is_admin=True)  # an admin: the role does not outlive the account
    deleted = live_api.new_user()
    tokens = {caller.id: _login(http, caller) for caller in (switched_off, deleted)}
    with live_api.database.session() as session:
        deactivate_user(session, user_id=switched_off.id)
    with live_api.database.session() as session:
        delete_user(session, user_id=deleted.id)
    return {
        "deactivated user's JWT": {"Authorization": f"Bearer {tokens[switched_off.id]}"},
        "deactivated user's key": switched_off.headers,
        "deactivated user's key as bearer": {"Authorization": f"Bearer {switched_off.api_key}"},
        "deleted user's JWT": {"Authorization": f"Bearer {tokens[deleted.id]}"},
        "deleted user's key": deleted.headers,
        "anonymous": {},
        "revoked key": {"X-API-Key": victim.api_key},
        "revoked key as bearer": {"Authorization": f"Bearer {victim.api_key}"},
        "unknown key": {"X-API-Key": "sk_00000000_" + "A" * 43},
        "not a key": {"X-API-Key": "hello"},
        "expired JWT": {"Authorization": f"Bearer {expired}"},
        "forged JWT": {"Authorization": f"Bearer {forged}"},
        "JWT of no user": {"Authorization": f"Bearer {unknown_user}"},
        "JWT of another token version": {"Authorization": f"Bearer {stale}"},
        "garbage bearer": {"Authorization": "Bearer not.a.jwt"},
        "basic auth": {"Authorization": "Basic dXNlcjpwYXNz"},
        "scheme only": {"Authorization": "Bearer"},
    }


def _login(http: httpx.Client, caller: Caller) -> str:
    response = http.post("/api/v1/auth/login", json={"email": caller.email, "password": caller.password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_bad_credentials_get_401_on_every_protected_endpoint(
    live_api: LiveApi, http: httpx.Client, item: dict
) -> None:
    calls = [
        ("GET", "/api/v1/auth/me", None),
        ("GET", "/api/v1/items", None),
        ("POST", "/api/v1/items", {"title": "x"}),
        ("POST", "/api/v1/items/batch", {"items": [{"title": "x"}]}),
        ("GET", f"/api/v1/items/{item['id']}", None),
        ("PATCH", f"/api/v1/items/{item['id']}", {"title": "stolen"}),
        ("DELETE", f"/api/v1/items/{item['id']}", None),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/api-keys", {"name": "x"}),
        ("DELETE", "/api/v1/api-keys/1", None),
        ("GET", "/api/v1/admin/users", None),
        ("POST", "/api/v1/admin/users/1/deactivate", None),
        ("DELETE", "/api/v1/admin/users/1", None),
    ]
    for label, headers in bad_credentials(live_api, http).items():
        for method, path, body in calls:
            response = http.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (label, method, path, response.text)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["error"]["code"] == "unauthorized"
    # Nothing changed.
    assert (
        http.get(
            f"/api/v1/items/{item['id']}", headers={"X-API-Key": _owner_key(live_api, http, item)}
        ).json()["title"]
        == "owned"
    )


def _owner_key(live_api: LiveApi, http: httpx.Client, item: dict) -> str:
    from store.accounts import create_api_key

    with live_api.database.session() as session:
        return create_api_key(session, user_id=item["user_id"], name="check")[1]


def test_expired_and_forged_tokens_say_why(live_api: LiveApi, http: httpx.Client) -> None:
    creds = bad_credentials(live_api, http)
    assert (
        http.get("/api/v1/auth/me", headers=creds["expired JWT"]).json()["error"]["message"]
        == "access token expired"
    )
    assert (
        http.get("/api/v1/auth/me", headers=creds["forged JWT"]).json()["error"]["message"]
        == "invalid access token"
    )


@pytest.mark.parametrize("who, status", [("owner", 200), ("other", 404), ("admin", 200)])
def test_read_item(
    who: str, status: int, request: pytest.FixtureRequest, http: httpx.Client, item: dict
) -> None:
    caller: Caller = request.getfixturevalue(who)
    response = http.get(f"/api/v1/items/{item['id']}", headers=caller.headers)
    assert response.status_code == status
    if status == 404:
        assert response.json()["error"]["code"] == "not_found"


def test_other_user_cannot_change_delete_or_list_the_item(
    http: httpx.Client, other: Caller, owner: Caller, item: dict
) -> None:
    assert (
        http.patch(
            f"/api/v1/items/{item['id']}", json={"title": "mine now"}, headers=other.headers
        ).status_code
        == 404
    )
    assert http.delete(f"/api/v1/items/{item['id']}", headers=other.headers).status_code == 404
    listed = http.get("/api/v1/items", headers=other.headers).json()
    assert item["id"] not in [i["id"] for i in listed["items"]]
    still = http.get(f"/api/v1/items/{item['id']}", headers=owner.headers).json()
    assert still["title"] == "owned"


def test_other_user_cannot_revoke_someone_elses_key(http: httpx.Client, other: Caller, owner: Caller) -> None:
    assert http.delete(f"/api/v1/api-keys/{owner.api_key_id}", headers=other.headers).status_code == 404
    assert http.get("/api/v1/auth/me", headers=owner.headers).status_code == 200
    assert owner.api_key_id not in [
        k["id"] for k in http.get("/api/v1/api-keys", headers=other.headers).json()["items"]
    ]


def test_admin_sees_and_changes_all_items(http: httpx.Client, admin: Caller, live_api: LiveApi) -> None:
    someone = live_api.new_user()
    theirs = http.post("/api/v1/items", json={"title": "theirs"}, headers=someone.headers).json()
    listed = http.get("/api/v1/items", params={"limit": 100}, headers=admin.headers).json()
    assert theirs["id"] in [i["id"] for i in listed["items"]]
    patched = http.patch(f"/api/v1/items/{theirs['id']}", json={"title": "moderated"}, headers=admin.headers)
    assert patched.status_code == 200 and patched.json()["user_id"] == someone.id
    assert http.delete(f"/api/v1/items/{theirs['id']}", headers=admin.headers).status_code == 204


def test_batch_creates_belong_to_the_caller_and_stay_hidden_from_others(
    http: httpx.Client, owner: Caller, other: Caller, admin: Caller
) -> None:
    for caller in (owner, admin):  # an admin's batch is the admin's own, like a single create
        created = http.post(
            "/api/v1/items/batch", json={"items": [{"title": "b1"}, {"title": "b2"}]}, headers=caller.headers
        )
        assert created.status_code == 201 and {i["user_id"] for i in created.json()["items"]} == {caller.id}
    for item in http.post(
        "/api/v1/items/batch", json={"items": [{"title": "mine"}]}, headers=owner.headers
    ).json()["items"]:
        assert http.get(f"/api/v1/items/{item['id']}", headers=other.headers).status_code == 404
        assert http.get(f"/api/v1/items/{item['id']}", headers=admin.headers).status_code == 200


def test_owner_may_use_a_jwt_from_login(http: httpx.Client, owner: Caller, item: dict) -> None:
    token = http.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password}).json()[
        "access_token"
    ]
    response = http.get(f"/api/v1/items/{item['id']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200

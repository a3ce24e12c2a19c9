"""Every method of both clients against a real API server (gunicorn, SQLite): one suite, sync and async."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

import sdk
from api.security import create_access_token
from tests.integration.sdk.conftest import Account, LiveAPI


def test_health(connect) -> None:
    health = connect().health()
    assert isinstance(health, sdk.HealthStatus)
    assert health.status == "healthy" and health.uptime_seconds >= 0
    assert health.database["backend"] == "sqlite" and isinstance(health.connection_pool, dict)


def test_create_get_update_delete_an_item(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    created = client.create_item(title="Buy milk", description="2 litres", metadata={"aisle": 4})
    assert isinstance(created, sdk.Item)
    assert (created.title, created.description, created.metadata, created.status) == (
        "Buy milk",
        "2 litres",
        {"aisle": 4},
        "pending",
    )
    assert created.user_id == account.user_id
    assert created.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - created.created_at).total_seconds()) < 120

    fetched = client.get_item(item_id=created.id)
    assert fetched == created

    updated = client.update_item(item_id=created.id, title="Buy oat milk")
    assert updated.title == "Buy oat milk" and updated.description == "2 litres"
    assert client.get_item(item_id=created.id).title == "Buy oat milk"

    assert client.delete_item(item_id=created.id) is None
    with pytest.raises(sdk.NotFoundError) as caught:
        client.get_item(item_id=created.id)
    assert caught.value.status_code == 404 and caught.value.request_id
    assert caught.value.code == "not_found"


def test_list_items_pages_newest_first(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    ids = [client.create_item(title=f"item {n}").id for n in range(5)]
    first = client.list_items(page=1, limit=2)
    assert isinstance(first, sdk.PaginatedResponse)
    assert [item.id for item in first] == ids[::-1][:2]
    assert (first.total, first.page, first.limit, first.pages) == (5, 1, 2, 3)
    last = client.list_items(page=3, limit=2)
    assert [item.id for item in last] == [ids[0]]
    assert "<table>" in first._repr_html_()


def test_list_items_filters_by_status_and_title(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    client.create_item(title="Milk run")
    client.create_item(title="Bread")
    found = client.list_items(q="milk")
    assert [item.title for item in found] == ["Milk run"]
    assert client.list_items(status="done").total == 0


def test_login_with_email_and_password(connect, account: Account) -> None:
    client = connect(api_key=None)
    assert client.login(email=account.email, password=account.password) is None
    item = client.create_item(title="made with a token")
    assert item.user_id == account.user_id
    assert account.password not in repr(client)


def test_wrong_password_is_an_authentication_error(connect, account: Account) -> None:
    with pytest.raises(sdk.AuthenticationError) as caught:
        connect(api_key=None).login(email=account.email, password="not-the-password")
    assert caught.value.status_code == 401


def test_an_expired_token_is_renewed_by_logging_in_again(
    connect, account: Account, live_api: LiveAPI
) -> None:
    client = connect(api_key=None)
    client.login(email=account.email, password=account.password)
    expired = create_access_token(account.user_id, secret=live_api.server.env["JWT_SECRET"], expires_in=-60)
    core = getattr(client, "async_client", client)._core
    core.credentials.set_token(expired, None)  # as if an hour had passed
    assert client.list_items().total >= 0
    assert core.credentials.headers()["Authorization"] != f"Bearer {expired}"


def test_a_wrong_api_key_is_an_authentication_error(connect) -> None:
    with pytest.raises(sdk.AuthenticationError) as caught:
        connect(api_key="sk_deadbeef_" + "x" * 43).list_items()
    assert caught.value.status_code == 401 and caught.value.request_id


def test_invalid_input_is_a_validation_error_with_field_details(connect, account: Account) -> None:
    with pytest.raises(sdk.ValidationError) as caught:
        connect(api_key=account.api_key).create_item(title="")
    error = caught.value
    assert error.status_code == 422 and error.code == "validation_error"
    assert any("title" in detail["loc"] for detail in error.errors)


def test_another_users_item_is_not_found(connect, live_api: LiveAPI, account: Account) -> None:
    mine = connect(api_key=account.api_key).create_item(title="private")
    stranger = connect(api_key=live_api.new_account().api_key)
    with pytest.raises(sdk.NotFoundError):
        stranger.get_item(item_id=mine.id)
    with pytest.raises(sdk.NotFoundError):
        stranger.update_item(item_id=mine.id, title="hijacked")


def test_a_repeated_idempotency_key_returns_the_first_item(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    first = client.create_item(title="once", idempotency_key="order-1")
    again = client.create_item(title="once", idempotency_key="order-1")
    assert again.id == first.id
    assert client.list_items().total == 1
    with pytest.raises(sdk.ConflictError) as caught:
        client.create_item(title="something else", idempotency_key="order-1")
    assert caught.value.status_code == 409


def test_status_pending_requeues_an_item(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    item = client.create_item(title="again")
    assert client.update_item(item_id=item.id, status="pending").status == "pending"
    with pytest.raises(sdk.ValidationError):
        client.update_item(item_id=item.id, status="done")


def test_async_client_runs_requests_concurrently(live_api: LiveAPI, account: Account) -> None:
    async def main() -> tuple[list[sdk.Item], int]:
        async with sdk.AsyncClient(base_url=live_api.url, api_key=account.api_key) as client:
            created = await asyncio.gather(*(client.create_item(title=f"parallel {n}") for n in range(20)))
            listed = await client.list_items(limit=100)
            return list(created), listed.total

    created, total = asyncio.run(main())
    assert len({item.id for item in created}) == 20 and total == 20


def test_an_empty_api_key_is_an_error_not_the_environment_s_key(
    connect, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", account.api_key)
    with pytest.raises(sdk.AppError, match="api_key is empty"):
        connect(api_key="")
    assert connect(api_key=None).create_item(title="with the environment's key").user_id == account.user_id


def test_request_calls_any_route_with_the_clients_auth_errors_and_retries(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    created = client.request(
        "POST", "/api/v1/items", json={"title": "raw"}, headers={"Idempotency-Key": "k1"}
    )
    assert isinstance(created, dict) and created["title"] == "raw"
    again = client.request("POST", "/api/v1/items", json={"title": "raw"}, headers={"Idempotency-Key": "k1"})
    assert again["id"] == created["id"]  # the key made the second create the first one's answer
    page = client.request("GET", "/api/v1/items", params={"limit": 1})
    assert page["items"][0]["id"] == created["id"]
    assert client.request("DELETE", f"/api/v1/items/{created['id']}") is None  # 204: no body
    with pytest.raises(sdk.NotFoundError):
        client.request("GET", f"/api/v1/items/{created['id']}")
    with pytest.raises(sdk.AuthenticationError):
        connect().request("GET", "/api/v1/items")
    with pytest.raises(ValueError, match="must start with one '/'"):
        client.request("GET", "https://elsewhere.example/api")


def test_api_keys_created_listed_by_pages_iterated_and_revoked(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    made = [client.create_api_key(f"script {n}") for n in range(3)]
    assert all(isinstance(key, sdk.ApiKey) and key.key and key.key.startswith("sk_") for key in made)
    assert made[0].created_at.tzinfo is not None and made[0].active
    first = client.list_api_keys(page=1, limit=2)
    assert isinstance(first, sdk.ApiKeyPage)
    assert [key.id for key in first] == [made[2].id, made[1].id]  # newest first
    assert (first.total, first.pages, first[0].key) == (4, 2, None)  # the secret is never listed again
    every = [key.id for key in client.iter_api_keys(limit=1)]  # one key a page, by cursor
    assert len(every) == 4 and every == sorted(every, reverse=True)
    assert every[:3] == [made[2].id, made[1].id, made[0].id]
    assert client.revoke_api_key(made[0].id) is None
    revoked = next(key for key in client.iter_api_keys() if key.id == made[0].id)
    assert not revoked.active and revoked.revoked_at is not None
    with pytest.raises(sdk.AuthenticationError):
        connect(api_key=made[0].key).list_api_keys()
    with pytest.raises(sdk.NotFoundError):
        client.revoke_api_key(10**12)

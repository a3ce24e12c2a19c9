"""Credentials: API key header, login token, one renewal on an expired token, no secrets shown."""

from __future__ import annotations

import httpx
import pytest

import sdk
from sdk._credentials import Credentials
from tests.unit.sdk.conftest import API_KEY, ScriptedAPI, error_body, item_json

PASSWORD = "correct horse battery staple"


def token_reply(token: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "token_type": "bearer", "expires_in": expires_in})


def unauthorized() -> httpx.Response:
    return httpx.Response(
        401, json=error_body("unauthorized", "token expired"), headers={"WWW-Authenticate": "Bearer"}
    )


def test_the_api_key_is_sent_on_every_request(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(200, json=item_json()))
    connect().get_item(item_id=1)
    assert api.requests[0].headers["X-API-Key"] == API_KEY


def test_login_then_requests_carry_the_bearer_token(connect, api: ScriptedAPI) -> None:
    api.reply(token_reply("tok-1"), httpx.Response(200, json=item_json()))
    client = connect(api_key=None)
    assert client.login(email="ann@example.com", password=PASSWORD) is None
    client.get_item(item_id=1)
    login, get = api.requests
    assert login.url.path == "/api/v1/auth/login" and "X-API-Key" not in login.headers
    assert api.json_of(0) == {"email": "ann@example.com", "password": PASSWORD}
    assert get.headers["Authorization"] == "Bearer tok-1"


def test_an_expired_token_is_renewed_once_and_the_request_repeated(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(
        token_reply("tok-1"), unauthorized(), token_reply("tok-2"), httpx.Response(200, json=item_json(8))
    )
    client = connect(api_key=None)
    client.login(email="ann@example.com", password=PASSWORD)
    assert client.get_item(item_id=8).id == 8
    paths = [(r.method, r.url.path, r.headers.get("Authorization")) for r in api.requests]
    assert paths == [
        ("POST", "/api/v1/auth/login", None),
        ("GET", "/api/v1/items/8", "Bearer tok-1"),
        ("POST", "/api/v1/auth/login", None),
        ("GET", "/api/v1/items/8", "Bearer tok-2"),
    ]
    assert sleeps == []


def test_a_second_401_after_renewal_is_raised(connect, api: ScriptedAPI) -> None:
    api.reply(token_reply("tok-1"), unauthorized(), token_reply("tok-2"), unauthorized())
    client = connect(api_key=None)
    client.login(email="ann@example.com", password=PASSWORD)
    with pytest.raises(sdk.AuthenticationError, match="token expired"):
        client.get_item(item_id=1)
    assert api.count == 4


def test_a_refused_api_key_is_not_retried_and_never_logs_in(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(401, json=error_body("unauthorized", "invalid API key")))
    with pytest.raises(sdk.AuthenticationError, match="invalid API key") as caught:
        connect().list_items()
    assert api.count == 1 and caught.value.status_code == 401


def test_wrong_login_credentials_raise_authentication_error(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(401, json=error_body("unauthorized", "incorrect email or password")))
    with pytest.raises(sdk.AuthenticationError, match="incorrect email or password"):
        connect(api_key=None).login(email="ann@example.com", password="nope")


def test_no_credentials_fails_before_sending_and_says_what_to_set(
    connect, api: ScriptedAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_API_KEY", raising=False)
    with pytest.raises(sdk.AuthenticationError) as caught:
        connect(api_key=None).get_item(item_id=1)
    assert api.count == 0
    message = str(caught.value)
    assert "api_key" in message and "APP_API_KEY" in message and "login" in message


def test_health_needs_no_credentials(connect, api: ScriptedAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_API_KEY", raising=False)
    api.reply(httpx.Response(200, json={"status": "healthy", "uptime_seconds": 1, "connection_pool": {}}))
    assert connect(api_key=None).health().status == "healthy"
    assert "X-API-Key" not in api.requests[0].headers


def test_neither_key_nor_password_nor_token_appears_in_the_repr(connect, api: ScriptedAPI) -> None:
    api.reply(token_reply("tok-secret-123"))
    keyed = connect()
    assert API_KEY not in repr(keyed) and "sk_ab12cd34_" in repr(keyed)
    logged_in = connect(api_key=None)
    logged_in.login(email="ann@example.com", password=PASSWORD)
    text = repr(logged_in) + repr(logged_in.__dict__ if hasattr(logged_in, "__dict__") else "")
    assert PASSWORD not in text and "tok-secret-123" not in text and "ann@example.com" in repr(logged_in)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_due_for_renewal_shortly_before_it_expires() -> None:
    clock = FakeClock()
    credentials = Credentials(None, clock=clock)
    credentials.remember_login("ann@example.com", PASSWORD)
    credentials.set_token("tok", expires_in=300)
    assert not credentials.token_due()
    clock.now += 269
    assert not credentials.token_due()
    clock.now += 2
    assert credentials.token_due()
    assert PASSWORD not in repr(credentials)

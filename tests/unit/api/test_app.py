"""The app in-process (httpx ASGI transport): settings checks, the 500 shape, Redis outages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from config.config import DEFAULT_JWT_SECRET, ConfigError, Settings, load
from store.accounts import create_api_key, create_user_with_hash
from store.migrate import upgrade
from tests.support.net import free_port
from tests.support.passwords import hashed


def settings_for(tmp_path: Path, **overrides: str) -> Settings:
    settings = load({"APP_HOME": str(tmp_path), **overrides}, environ={})
    upgrade(settings.DATABASE_URL)
    return settings


@pytest.mark.parametrize("secret", ["", DEFAULT_JWT_SECRET])
def test_production_refuses_default_or_missing_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        create_app(
            load({"APP_HOME": str(tmp_path), "APP_ENV": "production", "JWT_SECRET": secret}, environ={})
        )


def test_development_accepts_the_default_secret(tmp_path: Path) -> None:
    create_app(settings_for(tmp_path)).state.db.dispose()


@pytest.mark.parametrize("name", ["RATE_LIMIT_DEFAULT", "RATE_LIMIT_LOGIN"])
def test_bad_rate_limit_setting_is_named(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        create_app(load({"APP_HOME": str(tmp_path), name: "lots"}, environ={}))


@pytest.fixture
def app_and_key(tmp_path: Path) -> Iterator[tuple[object, str]]:
    # Redis on a port where nothing listens: the rate limiter must fail open, not fail requests.
    settings = settings_for(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings)
    with app.state.db.session() as session:
        user = create_user_with_hash(session, email="u@example.com", password_hash=hashed("long enough"))
        key = create_api_key(session, user_id=user.id, name="t")[1]

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)  # a fault the real routes cannot be made to produce
    yield app, key
    app.state.db.dispose()


def call(app: object, method: str, path: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_unexpected_errors_are_500_in_the_error_shape(app_and_key: tuple[object, str]) -> None:
    app, _ = app_and_key
    response = call(app, "GET", "/boom", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "internal server error",
            "details": [],
            "request_id": "req-1",
        }
    }
    assert response.headers["X-Request-ID"] == "req-1"
    assert "a bug" not in response.text


def test_requests_are_served_when_redis_is_down(app_and_key: tuple[object, str]) -> None:
    app, key = app_and_key
    response = call(app, "GET", "/api/v1/items", headers={"X-API-Key": key})
    assert response.status_code == 200
    # RATE_LIMIT_REDIS_DOWN=local (the default): still limited, counted in this process alone.
    assert response.headers["RateLimit-Remaining"] == str(int(response.headers["RateLimit-Limit"]) - 1)


def test_invalid_utf8_body_says_so(app_and_key: tuple[object, str]) -> None:
    app, key = app_and_key
    response = call(
        app,
        "POST",
        "/api/v1/items",
        content=b'{"title": "\xff"}',
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "request body is not valid UTF-8 JSON",
        "details": [],
        "request_id": response.headers["X-Request-ID"],
    }

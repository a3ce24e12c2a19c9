"""The Vite dev proxy drops a client's X-Forwarded-* headers: even an API told to trust the proxy
on loopback (API_TRUSTED_PROXIES=127.0.0.1) keeps counting login attempts per real client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from store.accounts import create_user
from store.db import Database
from tests.e2e.servers import ViteServer
from tests.integration.api.test_rate_limits import assert_rate_limited
from tests.support.api_server import ApiServer


@pytest.fixture(scope="module")
def vite_before_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ViteServer, ApiServer]]:
    home = tmp_path_factory.mktemp("vite-proxy")
    (home / "var").mkdir()
    env = {"RATE_LIMIT_LOGIN": "3/minute", "API_TRUSTED_PROXIES": "127.0.0.1"}
    with ApiServer(home, env=env) as api, ViteServer(api_url=api.url, log_dir=home / "logs") as vite:
        yield vite, api


def test_forwarded_for_through_the_vite_proxy_does_not_bypass_the_login_limit(
    vite_before_api: tuple[ViteServer, ApiServer],
) -> None:
    vite, api = vite_before_api
    database = Database(api.database_url)
    try:
        with database.session() as session:
            create_user(session, email="proxy@example.com", password="right-password-1")
    finally:
        database.dispose()
    wrong = {"email": "proxy@example.com", "password": "wrong-password"}
    with httpx.Client(base_url=vite.url, timeout=30) as http:
        for _ in range(3):
            assert http.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert_rate_limited(http.post("/api/v1/auth/login", json=wrong), 3)
        for n in range(1, 6):
            forged = {"X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https"}
            assert_rate_limited(http.post("/api/v1/auth/login", json=wrong, headers=forged), 3)


def test_the_proxy_still_serves_health(vite_before_api: tuple[ViteServer, ApiServer], tmp_path: Path) -> None:
    vite, _ = vite_before_api
    response = httpx.get(vite.url + "/health", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30)
    assert response.status_code == 200

"""Rate limits: 429 with Retry-After and RateLimit headers; shared by gunicorn workers through Redis."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.integration.api.conftest import LiveApi, boot_api

REDIS_URL = "redis://127.0.0.1:6379/0"


def assert_rate_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    for prefix in ("", "X-"):
        assert response.headers[f"{prefix}RateLimit-Limit"] == str(limit)
        assert response.headers[f"{prefix}RateLimit-Remaining"] == "0"
    assert 1 <= int(response.headers["RateLimit-Reset"]) <= 60


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    yield from boot_api(
        tmp_path_factory,
        "sqlite",
        workers=1,
        # As behind a reverse proxy on loopback: X-Forwarded-For names the client.
        env={
            "RATE_LIMIT_DEFAULT": "5/minute",
            "RATE_LIMIT_LOGIN": "3/minute",
            "API_TRUSTED_PROXIES": "127.0.0.1",
        },
    )


def test_default_limit_per_api_key(one_worker: LiveApi) -> None:
    caller, bystander = one_worker.new_user(), one_worker.new_user()
    with one_worker.client() as http:
        remaining = []
        for _ in range(5):
            response = http.get("/api/v1/items", headers=caller.headers)
            assert response.status_code == 200
            remaining.append(int(response.headers["RateLimit-Remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        assert_rate_limited(http.get("/api/v1/items", headers=caller.headers), 5)
        assert_rate_limited(http.post("/api/v1/items", json={"title": "x"}, headers=caller.headers), 5)
        # Another key has its own budget.
        assert http.get("/api/v1/items", headers=bystander.headers).status_code == 200


def test_a_batch_of_many_items_counts_as_one_request(one_worker: LiveApi) -> None:
    caller = one_worker.new_user()
    with one_worker.client() as http:
        batch = [{"title": f"t{n}"} for n in range(50)]
        created = http.post("/api/v1/items/batch", json={"items": batch}, headers=caller.headers)
        assert created.status_code == 201 and created.headers["RateLimit-Remaining"] == "4"
        listed = http.get("/api/v1/items", params={"limit": 100}, headers=caller.headers)
        assert listed.headers["RateLimit-Remaining"] == "3" and len(listed.json()["items"]) == 50


def test_login_has_its_own_stricter_limit_per_ip(one_worker: LiveApi) -> None:
    caller = one_worker.new_user()
    body = {"email": caller.email, "password": caller.password}
    ip = {"X-Forwarded-For": "203.0.113.7"}  # API_TRUSTED_PROXIES=127.0.0.1 above
    with one_worker.client() as http:
        for _ in range(3):
            assert http.post("/api/v1/auth/login", json=body, headers=ip).status_code == 200
        assert_rate_limited(http.post("/api/v1/auth/login", json=body, headers=ip), 3)
        assert (
            http.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.8"}).status_code
            == 200
        )


def test_anonymous_and_failed_attempts_count_per_ip(one_worker: LiveApi) -> None:
    ip = {"X-Forwarded-For": "198.51.100.9"}
    with one_worker.client() as http:
        for _ in range(5):
            assert http.get("/api/v1/items", headers={**ip, "X-API-Key": "sk_bad_guess"}).status_code == 401
        assert_rate_limited(http.get("/api/v1/items", headers=ip), 5)
        assert http.get("/health", headers=ip).status_code == 200  # health is never limited


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    prefix = f"test-{secrets.token_hex(6)}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def two_workers_redis(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[LiveApi]:
    yield from boot_api(
        tmp_path_factory,
        "sqlite",
        workers=2,
        env={
            "RATE_LIMIT_DEFAULT": "10/minute",
            "REDIS_URL": REDIS_URL,
            "RATE_LIMIT_KEY_PREFIX": redis_prefix,
        },
    )


def test_limit_is_shared_by_two_workers_through_redis(two_workers_redis: LiveApi, redis_prefix: str) -> None:
    caller = two_workers_redis.new_user()
    # A fresh connection per request, so the kernel spreads them over both workers; with per-process
    # counters more than 10 would pass.
    statuses = [
        httpx.get(f"{two_workers_redis.url}/api/v1/auth/me", headers=caller.headers).status_code
        for _ in range(16)
    ]
    assert statuses.count(200) == 10 and statuses.count(429) == 6, statuses
    client = redis.Redis.from_url(REDIS_URL)
    counters = [
        int(client.get(k) or 0) for k in client.scan_iter(f"*{redis_prefix}*key:{caller.api_key_id}*")
    ]
    client.close()
    assert counters == [16]

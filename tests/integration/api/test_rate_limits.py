"""Rate limits: 429 with Retry-After and RateLimit headers; one budget per account (all its keys and
tokens); shared by the gunicorn workers of one server without Redis (a counter file on the machine,
kept across a reload), and by every host through Redis."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from store.accounts import create_api_key
from tests.integration.api.conftest import LiveApi, boot_api
from tests.integration.api.test_reload import worker_pids
from tests.support import plain_http
from tests.support.wait import wait_until

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
        # Another account has its own budget.
        assert http.get("/api/v1/items", headers=bystander.headers).status_code == 200


def test_a_batch_of_many_items_counts_as_one_request(one_worker: LiveApi) -> None:
    caller = one_worker.new_user()
    with one_worker.client() as http:
        batch = [{"title": f"t{n}"} for n in range(50)]
        created = http.post("/api/v1/items/batch", json={"items": batch}, headers=caller.headers)
        assert created.status_code == 201 and created.headers["RateLimit-Remaining"] == "4"
        listed = http.get("/api/v1/items", params={"limit": 100}, headers=caller.headers)
        assert listed.headers["RateLimit-Remaining"] == "3" and len(listed.json()["items"]) == 50


def test_all_keys_and_tokens_of_an_account_share_one_budget(one_worker: LiveApi) -> None:
    caller = one_worker.new_user()
    with one_worker.database.session() as session:
        _, second_key = create_api_key(session, user_id=caller.id, name="second")
    with one_worker.client() as http:
        login = http.post(
            "/api/v1/auth/login",
            json={"email": caller.email, "password": caller.password},
            headers={"X-Forwarded-For": "203.0.113.77"},
        )
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        credentials = [caller.headers, {"X-API-Key": second_key}, token]
        remaining = []
        for n in range(5):
            response = http.get("/api/v1/auth/me", headers=credentials[n % 3])
            assert response.status_code == 200, response.text
            remaining.append(int(response.headers["RateLimit-Remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        for headers in credentials:  # a new key or a token is no way around the limit
            assert_rate_limited(http.get("/api/v1/auth/me", headers=headers), 5)
        with one_worker.database.session() as session:
            _, third_key = create_api_key(session, user_id=caller.id, name="made after")
        assert_rate_limited(http.get("/api/v1/auth/me", headers={"X-API-Key": third_key}), 5)


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
        plain_http.get(f"{two_workers_redis.url}/api/v1/auth/me", headers=caller.headers).status_code
        for _ in range(16)
    ]
    assert statuses.count(200) == 10 and statuses.count(429) == 6, statuses
    client = redis.Redis.from_url(REDIS_URL)
    counters = [int(client.get(k) or 0) for k in client.scan_iter(f"*{redis_prefix}*user:{caller.id}*")]
    client.close()
    assert counters == [16]


# --- one server, two workers, no Redis: the counters live in a file on the machine ---------------------


@pytest.fixture(scope="module")
def two_workers_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    yield from boot_api(
        tmp_path_factory,
        "sqlite",
        workers=2,
        # A 15-second login window: the same limit per window as the default 10/minute, and the
        # client's wait for Retry-After below is at most 15 s.
        env={"RATE_LIMIT_LOGIN": "10/15 seconds", "RATE_LIMIT_DEFAULT": "5/minute"},
    )


def fresh_login(api: LiveApi, body: dict[str, str]) -> httpx.Response:
    # A new connection each: the kernel spreads them over both workers.
    return plain_http.post(f"{api.url}/api/v1/auth/login", json=body, timeout=60)


def test_ten_per_window_allows_exactly_ten_logins_across_two_workers_then_the_retry_after_holds(
    two_workers_machine: LiveApi,
) -> None:
    api = two_workers_machine
    caller = api.new_user()
    body = {"email": caller.email, "password": caller.password}
    assert plain_http.get(f"{api.url}/health").json()["rate_limiter"]["storage"] == "machine"
    with ThreadPoolExecutor(max_workers=8) as pool:  # at once: both workers busy at the same time
        responses = list(pool.map(lambda _: fresh_login(api, body), range(16)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10 and statuses.count(429) == 6, statuses
    refused = [r for r in responses if r.status_code == 429]
    for response in refused:
        assert_rate_limited(response, 10)
    # A client that waits what it was told is served, whichever worker answers: both share the window.
    wait = max(int(r.headers["Retry-After"]) for r in refused)
    assert wait <= 15, wait
    time.sleep(wait)  # the client's side of the contract, not a synchronisation
    retries = [fresh_login(api, body) for _ in range(4)]
    assert [r.status_code for r in retries] == [200] * 4, [r.text for r in retries]
    assert (api.server.home / "var" / "run" / "ratelimits.sqlite3").is_file()


def test_the_limit_holds_across_a_gunicorn_reload(two_workers_machine: LiveApi) -> None:
    api = two_workers_machine
    caller = api.new_user()
    statuses = [
        plain_http.get(f"{api.url}/api/v1/auth/me", headers=caller.headers).status_code for _ in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2, statuses
    control = api.server.home / "var" / "run" / "gunicorn.ctl"
    old = worker_pids(control)
    assert api.server.process is not None
    os.kill(api.server.process.pid, signal.SIGHUP)
    wait_until(lambda: not worker_pids(control) & old, timeout=120, message="the old workers to exit")
    wait_until(lambda: len(worker_pids(control)) == 2, timeout=120, message="two new workers")
    for _ in range(4):  # whichever new worker answers, the window of before the reload still counts
        # A new worker is listed as soon as it is forked, and answers once it has imported the app:
        # on a busy machine that is more than httpx's default 5 s.
        assert_rate_limited(
            plain_http.get(f"{api.url}/api/v1/auth/me", headers=caller.headers, timeout=60), 5
        )

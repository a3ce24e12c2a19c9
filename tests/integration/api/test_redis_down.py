"""Redis unreachable (behind a TCP proxy the test closes): the policy RATE_LIMIT_REDIS_DOWN holds
(local: limits still count, in this machine's counter file; closed: 503 rate_limiter_unavailable),
/health and `ctl status` say the limiter is degraded, and the log says so once per interval, not
per request."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis

from tests.integration.api.conftest import LiveApi, boot_api
from tests.integration.api.test_database_down import ctl_status
from tests.integration.api.test_rate_limits import REDIS_URL, assert_rate_limited
from tests.support import plain_http
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until


@pytest.fixture(scope="module")
def redis_proxy() -> Iterator[TcpProxy]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    finally:
        client.close()
    with TcpProxy(("127.0.0.1", 6379), start_open=False) as proxy:
        yield proxy


def api_env(proxy: TcpProxy, **extra: str) -> dict[str, str]:
    return {
        "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
        "RATE_LIMIT_KEY_PREFIX": f"test-{secrets.token_hex(6)}",
        "RATE_LIMIT_LOGIN": "3/minute",
        **extra,
    }


@pytest.fixture(scope="module")
def local_policy(tmp_path_factory: pytest.TempPathFactory, redis_proxy: TcpProxy) -> Iterator[LiveApi]:
    yield from boot_api(tmp_path_factory, "sqlite", workers=1, env=api_env(redis_proxy))


def test_redis_down_keeps_counting_locally_and_says_degraded(
    local_policy: LiveApi, redis_proxy: TcpProxy
) -> None:
    assert not redis_proxy.is_open
    caller = local_policy.new_user()
    wrong = {"email": caller.email, "password": "not-" + caller.password}
    with local_policy.client() as http:
        health = http.get("/health")
        assert health.status_code == 200  # a restart would not bring Redis back
        assert health.json()["status"] == "degraded"
        limiter = health.json()["rate_limiter"]
        assert limiter["state"] == "degraded" and limiter["when_down"] == "local"
        assert "refused" in limiter["error"].lower()
        for _ in range(3):
            assert http.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert_rate_limited(http.post("/api/v1/auth/login", json=wrong), 3)
        for _ in range(30):
            assert http.get("/api/v1/items", headers=caller.headers).status_code == 200

    status = ctl_status(local_policy.server, local_policy.database_url)
    assert "Traceback" not in status.stdout + status.stderr
    assert any(
        line.startswith("  limiter   degraded, redis: ") and "RATE_LIMIT_REDIS_DOWN=local" in line
        for line in status.stdout.splitlines()
    ), status.stdout

    log = local_policy.server.log_path.read_text()
    assert "Traceback" not in log
    assert len([line for line in log.splitlines() if "rate-limit storage unreachable" in line]) == 1, log

    redis_proxy.open()
    wait_until(
        lambda: plain_http.get(local_policy.url + "/health").json()["rate_limiter"]["state"] == "ok",
        timeout=60,
    )
    assert plain_http.get(local_policy.url + "/health").json()["status"] == "healthy"
    assert "rate-limit storage reachable again" in local_policy.server.log_path.read_text()
    redis_proxy.close()


@pytest.fixture(scope="module")
def closed_policy(tmp_path_factory: pytest.TempPathFactory, redis_proxy: TcpProxy) -> Iterator[LiveApi]:
    env = api_env(redis_proxy, RATE_LIMIT_REDIS_DOWN="closed")
    yield from boot_api(tmp_path_factory, "sqlite", workers=1, env=env)


def test_redis_down_with_the_closed_policy_answers_503(closed_policy: LiveApi, redis_proxy: TcpProxy) -> None:
    assert not redis_proxy.is_open
    caller = closed_policy.new_user()
    with closed_policy.client() as http:
        response = http.get("/api/v1/items", headers=caller.headers)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "rate_limiter_unavailable"
        assert response.headers["Retry-After"] == "5"
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["rate_limiter"]["state"] == "degraded"

"""The database (and Redis with it) away for longer than the health listener's failure window, under
supervisord with the listener running: the API is never restarted, keeps answering HTTP (alive,
not ready, data routes 503 database_unavailable), and is ready again by itself when they return;
twice in a row. PostgreSQL and Redis sit behind TCP proxies the test closes and opens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import make_url

from store.accounts import create_api_key, create_user
from store.db import Database
from tests.conftest import require_postgres, require_redis
from tests.integration.ops.conftest import info, listener_log
from tests.support import plain_http
from tests.support.databases import fresh_postgres_database
from tests.support.stack import Stack
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

# A short failure window: 2 failed probes 1 s apart (a start on a busy machine keeps its grace).
SETTINGS = {
    "HEALTHCHECK_FAILURES": "2",
    "HEALTHCHECK_INTERVAL": "1",
    "HEALTHCHECK_GRACE_SECONDS": "20",
    "HEALTH_PROBE_TIMEOUT": "2",
    "RATE_LIMIT_REDIS_DOWN": "local",
    "API_WORKERS": "1",
}


@dataclass
class Outage:
    stack: Stack
    database: TcpProxy
    redis: TcpProxy
    api_key: str


def address(url: str, default_port: int) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or default_port


def through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    redis_url = require_redis()
    with fresh_postgres_database(require_postgres()) as database_url:
        with (
            TcpProxy(address(database_url, 5432)) as db_proxy,
            TcpProxy(address(redis_url, 6379)) as redis_proxy,
        ):
            env = {
                **SETTINGS,
                "DATABASE_URL": through(db_proxy, database_url),
                "REDIS_URL": through(redis_proxy, redis_url),
            }
            home = tmp_path_factory.mktemp("outage")  # the API under test: no Vite, one worker
            with Stack(home, env=env, workers=1, frontend=False) as stack:
                stack.wait_healthy()
                database = Database(database_url)
                try:
                    with database.session() as session:
                        user = create_user(session, email="outage@example.com", password="a-password-1")
                        _, key = create_api_key(session, user_id=user.id, name="tests")
                finally:
                    database.dispose()
                yield Outage(stack, db_proxy, redis_proxy, key)


def answer(url: str, **kwargs: object) -> httpx.Response:
    """A GET that must get an HTTP answer: a refused or timed-out call fails the test."""
    try:
        return plain_http.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise AssertionError(f"no HTTP answer from {url}: {type(exc).__name__}: {exc}") from exc


def api_uptime(stack: Stack) -> int:
    api = info(stack, "api")
    return int(api["now"] - api["start"])


def ride_out(o: Outage) -> None:
    """Keep calling while both are away for longer than the listener's failure window (2 checks 1 s
    apart, 2 s probe timeout: 10 s is well past it); every call must get an HTTP answer."""
    stack = o.stack
    until = api_uptime(stack) + 10

    def still_answering_and_window_passed() -> bool:
        assert answer(stack.api_url + "/livez").status_code == 200
        readyz = answer(stack.api_url + "/readyz")
        assert readyz.status_code == 503, readyz.text
        assert readyz.json()["reason"].startswith("database unavailable: ")
        items = answer(stack.api_url + "/api/v1/items", headers={"X-API-Key": o.api_key})
        assert items.status_code == 503 and items.json()["error"]["code"] == "database_unavailable"
        return api_uptime(stack) >= until

    wait_until(
        still_answering_and_window_passed, timeout=120, interval=0.5, message=lambda: listener_log(stack)
    )


def back(o: Outage) -> None:
    o.database.open()
    o.redis.open()
    wait_until(
        lambda: answer(o.stack.api_url + "/readyz").status_code == 200,
        timeout=30,
        interval=0.2,
        message="the API ready again after the database came back",
    )
    items = answer(o.stack.api_url + "/api/v1/items", headers={"X-API-Key": o.api_key})
    assert items.status_code == 200, items.text


def test_database_and_redis_away_twice_never_restart_the_api(outage: Outage) -> None:
    stack = outage.stack
    grace = float(SETTINGS["HEALTHCHECK_GRACE_SECONDS"])
    wait_until(lambda: api_uptime(stack) > grace, timeout=60, interval=0.5)
    pid = info(stack, "api")["pid"]
    before = len(listener_log(stack))
    for _ in range(2):  # away, back, away again, back
        outage.database.close()
        outage.redis.close()
        ride_out(outage)
        back(outage)
    assert info(stack, "api")["pid"] == pid
    assert info(stack, "api")["statename"] == "RUNNING"
    log = listener_log(stack)[before:]
    assert "restart: api" not in log, log
    assert "api liveness check failed" not in log, log

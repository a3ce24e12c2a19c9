"""The database down, at start and while running (PostgreSQL behind a TCP proxy the test closes):
503 database_unavailable with Retry-After and a one-line reason, the reason in /health and
`ctl status`, the log saying it once instead of a traceback per request, and recovery by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from store.accounts import create_api_key, create_user_with_hash
from store.db import Database
from tests.conftest import require_postgres
from tests.support import plain_http
from tests.support.api_server import REPO, ApiServer
from tests.support.databases import fresh_postgres_database
from tests.support.passwords import hashed
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until

pytestmark = pytest.mark.postgres


def through(proxy: TcpProxy, database_url: str) -> str:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def postgres_address(database_url: str) -> tuple[str, int]:
    url = make_url(database_url)
    return url.host or "127.0.0.1", url.port or 5432


def test_a_start_with_the_database_down_listens_says_so_once_and_recovers(tmp_path: Path) -> None:
    with fresh_postgres_database(require_postgres()) as database_url:
        proxy = TcpProxy(postgres_address(database_url), start_open=False)
        api = ApiServer(tmp_path, database_url=through(proxy, database_url), workers=1)
        try:
            api.spawn()
            # Listening without its database: alive, not ready (saying why), data routes 503.
            wait_until(lambda: get(api.url + "/livez") == 200, timeout=60, message=api.log_tail)
            readyz = plain_http.get(api.url + "/readyz", timeout=10)
            assert readyz.status_code == 503
            assert readyz.json()["status"] == "not ready"
            assert "database unavailable" in readyz.json()["reason"]
            assert "Connection refused" in readyz.json()["reason"]
            items = plain_http.get(api.url + "/api/v1/items", headers={"X-API-Key": "sk_x_y"}, timeout=10)
            assert items.status_code == 503 and items.json()["error"]["code"] == "database_unavailable"
            assert plain_http.get(api.url + "/health", timeout=10).status_code == 503
            proxy.open()
            # The migrations are applied by the waiting process, and the worker is ready by itself.
            wait_until(lambda: get(api.url + "/readyz") == 200, timeout=30, message=api.log_tail)
            assert plain_http.get(api.url + "/health", timeout=10).json()["status"] == "healthy"
            log = api.log_path.read_text()
        finally:
            api.stop()
            proxy.close()
    down = [line for line in log.splitlines() if "database unreachable" in line]
    assert len(down) == 1, log
    assert f"127.0.0.1:{proxy.port}" in down[0] and "Connection refused" in down[0]
    assert "listening anyway" in down[0]
    assert "Traceback" not in log
    assert "database reachable again" in log


def get(url: str) -> int | None:
    """The status of a GET, None when nothing answers (refused, reset, timed out)."""
    try:
        return plain_http.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def api_via_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, TcpProxy, str]]:
    home = tmp_path_factory.mktemp("db-down")
    (home / "var").mkdir()
    with fresh_postgres_database(require_postgres()) as database_url:
        with TcpProxy(postgres_address(database_url)) as proxy:
            with ApiServer(home, database_url=through(proxy, database_url), workers=2) as api:
                yield api, proxy, database_url


def ctl_status(api: ApiServer, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APP_HOME": str(api.home),
        "API_URL": api.url,
        "DATABASE_URL": database_url,
        "SUPERVISOR_SOCKET": str(api.home / "var" / "run" / "no-supervisord.sock"),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.ctl", "status"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_requests_get_503_database_unavailable_until_it_is_back(
    api_via_proxy: tuple[ApiServer, TcpProxy, str],
) -> None:
    api, proxy, database_url = api_via_proxy
    database = Database(database_url)
    try:
        with database.session() as session:
            user = create_user_with_hash(
                session, email="down@example.com", password_hash=hashed("a-password-1")
            )
            _, key = create_api_key(session, user_id=user.id, name="tests")
    finally:
        database.dispose()
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=api.url, timeout=30) as http:
        assert http.get("/api/v1/items", headers=headers).status_code == 200
        proxy.close()
        for _ in range(20):
            response = http.get("/api/v1/items", headers=headers)
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert error["code"] == "database_unavailable"
            assert (
                error["message"].startswith("the database is unavailable (") and "\n" not in error["message"]
            )
            assert response.headers["Retry-After"] == "5"
        assert (
            http.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "y"}).status_code
            == 503
        )

        health = http.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert health.json()["database"]["reachable"] is False
        assert "Connection refused" in health.json()["database"]["error"]

        status = ctl_status(api, through(proxy, database_url))
        assert "Traceback" not in status.stdout + status.stderr
        lines = status.stdout.splitlines()
        assert any(
            line.startswith("Database    UNREACHABLE") and "Connection refused" in line for line in lines
        ), status.stdout
        assert any("database  unavailable to the API: Connection refused" in line for line in lines), (
            status.stdout
        )

        proxy.open()
        wait_until(lambda: http.get("/api/v1/items", headers=headers).status_code == 200, timeout=60)
        assert http.get("/health").json()["status"] == "healthy"
    log = api.log_path.read_text()
    assert "Traceback" not in log
    reports = [line for line in log.splitlines() if "database unavailable:" in line]
    assert 1 <= len(reports) <= 2, reports  # once per process (2 workers) for the whole outage


def test_connections_dropped_mid_load_answer_503_never_500_and_the_pool_recovers(
    api_via_proxy: tuple[ApiServer, TcpProxy, str],
) -> None:
    # Requests in flight on both workers when the proxy drops every connection: each answer is a
    # 200 (201 for a create) or a 503, never a 500, and the pool serves again once it is back.
    api, proxy, database_url = api_via_proxy
    database = Database(database_url)
    try:
        with database.session() as session:
            user = create_user_with_hash(
                session, email="midload@example.com", password_hash=hashed("a-password-1")
            )
            _, key = create_api_key(session, user_id=user.id, name="tests")
    finally:
        database.dispose()
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=api.url, headers=headers, timeout=30) as http:
        item_id = http.post("/api/v1/items", json={"title": "kept"}).json()["id"]
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=api.url, headers=headers, timeout=30) as client:
            while not stop.is_set():
                for path in ("/api/v1/items", f"/api/v1/items/{item_id}"):
                    statuses[client.get(path).status_code] += 1
                statuses[client.post("/api/v1/items", json={"title": "load"}).status_code] += 1

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: statuses[200] >= 30, timeout=60, message="served under load")
        proxy.close()
        wait_until(lambda: statuses[503] >= 10, timeout=60, message="503s while the database is away")
        proxy.open()
        served = statuses[200]
        wait_until(lambda: statuses[200] >= served + 30, timeout=60, message="served again")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert set(statuses) <= {200, 201, 503}, statuses
    assert "Traceback" not in api.log_path.read_text()

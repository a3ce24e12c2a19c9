"""What an operator reads: the API's metrics (added up over both gunicorn workers, admins only, kept
when a worker is killed) and its JSON log (one object a line, request ids in access and error lines,
bad ids replaced)."""

from __future__ import annotations

import json
import os
import signal
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.api.conftest import BACKENDS, Caller, LiveApi, boot_api
from tests.support import plain_http
from tests.support.wait import wait_until

LOGIN_LIMIT = 3
Sample = tuple[str, frozenset[tuple[str, str]]]


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """Its own API (2 workers) per backend: JSON logs, and a login limit low enough to be met."""
    yield from boot_api(
        tmp_path_factory,
        request.param,
        env={"LOG_FORMAT": "json", "RATE_LIMIT_LOGIN": f"{LOGIN_LIMIT}/minute"},
    )


@pytest.fixture(scope="module")
def admin(api: LiveApi) -> Caller:
    return api.new_user(is_admin=True)


@pytest.fixture(scope="module")
def owner(api: LiveApi) -> Caller:
    return api.new_user()


def log_lines(api: LiveApi) -> list[dict[str, Any]]:
    """Every line of the API's log, each parsed as JSON (a line that is not JSON fails the test)."""
    lines = api.server.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def fresh_get(api: LiveApi, path: str, **kwargs: Any) -> httpx.Response:
    """A GET on a new connection: gunicorn hands each to whichever worker accepts it."""
    headers = {"Connection": "close", **kwargs.pop("headers", {})}
    return plain_http.get(api.url + path, headers=headers, timeout=30, **kwargs)


def scrape(api: LiveApi, admin: Caller) -> dict[Sample, float]:
    response = fresh_get(api, "/api/v1/admin/metrics", headers={"Authorization": f"Bearer {admin.api_key}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_total(method: str, route: str, status: int) -> Sample:
    return (
        "api_requests_total",
        frozenset({"method": method, "route": route, "status": str(status)}.items()),
    )


def test_metrics_count_a_known_sequence_exactly_across_both_workers(
    api: LiveApi, admin: Caller, owner: Caller
) -> None:
    before = scrape(api, admin)
    tag = uuid.uuid4().hex[:12]
    sent = 0
    pids: set[int] = set()

    def one_round() -> bool:
        """Four requests, each on its own connection; true once both workers served some."""
        nonlocal sent
        n = sent
        ids = [f"{tag}-{n}-{i}" for i in range(4)]
        assert (
            fresh_get(api, "/api/v1/items", headers={**owner.headers, "X-Request-ID": ids[0]}).status_code
            == 200
        )
        missing = fresh_get(api, "/api/v1/items/999999999", headers={**owner.headers, "X-Request-ID": ids[1]})
        assert missing.status_code == 404
        assert fresh_get(api, "/api/v1/items", headers={"X-Request-ID": ids[2]}).status_code == 401
        assert fresh_get(api, f"/no-such-path-{n}", headers={"X-Request-ID": ids[3]}).status_code == 404
        sent += 1
        pids.update(
            line["pid"] for line in log_lines(api) if str(line.get("request_id", "")).startswith(tag + "-")
        )
        return len(pids) >= 2

    wait_until(one_round, timeout=60, interval=0, message=lambda: f"both workers serving; pids {pids}")
    login_statuses = [
        plain_http.post(
            api.url + "/api/v1/auth/login",
            json={"email": owner.email, "password": "wrong password"},
            headers={"Connection": "close"},
        ).status_code
        for _ in range(3 * LOGIN_LIMIT)
    ]
    limited = login_statuses.count(429)
    assert limited >= LOGIN_LIMIT  # each worker counts alone (no Redis): at most 2 x 3 get through
    assert set(login_statuses) == {401, 429}

    after = [scrape(api, admin) for _ in range(6)]  # several scrapes: whichever worker answers

    def grew(sample: Sample, scraped: dict[Sample, float]) -> float:
        return scraped.get(sample, 0.0) - before.get(sample, 0.0)

    expected = {
        requests_total("GET", "/api/v1/items", 200): sent,
        requests_total("GET", "/api/v1/items/{item_id}", 404): sent,
        requests_total("GET", "/api/v1/items", 401): sent,
        requests_total("GET", "(unmatched)", 404): sent,
        requests_total("POST", "/api/v1/auth/login", 401): len(login_statuses) - limited,
        requests_total("POST", "/api/v1/auth/login", 429): limited,
        ("api_rate_limited_requests_total", frozenset({"route": "/api/v1/auth/login"}.items())): limited,
        (
            "api_request_duration_seconds_count",
            frozenset({"method": "GET", "route": "/api/v1/items"}.items()),
        ): 2 * sent,
    }
    for scraped in after:
        assert {sample: grew(sample, scraped) for sample in expected} == expected
        # The scrape itself is the one request in flight; two workers' pools of 5 + 10 connections.
        assert scraped[("api_requests_in_progress", frozenset())] == 1
        assert scraped[("api_db_pool_connections_max", frozenset())] == 2 * (5 + 10)
        assert 0 <= scraped[("api_db_pool_connections_in_use", frozenset())] <= 2 * (5 + 10)
    scrapes_served_by = {
        line["pid"] for line in log_lines(api) if line.get("path") == "/api/v1/admin/metrics"
    }
    assert scrapes_served_by <= {
        line["pid"] for line in log_lines(api) if "Booting worker" in line["message"]
    }


def test_only_admins_read_the_metrics(api: LiveApi, owner: Caller, admin: Caller) -> None:
    anonymous = fresh_get(api, "/api/v1/admin/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    user = fresh_get(api, "/api/v1/admin/metrics", headers=owner.headers)
    assert user.status_code == 403 and user.json()["error"]["code"] == "forbidden"
    assert "api_requests_total" not in anonymous.text + user.text
    assert fresh_get(api, "/api/v1/admin/metrics", headers=admin.headers).status_code == 200


def test_the_request_id_of_an_error_is_in_the_log(api: LiveApi, owner: Caller) -> None:
    response = fresh_get(api, "/api/v1/items/987654321", headers=owner.headers)
    assert response.status_code == 404
    request_id = response.json()["error"]["request_id"]
    assert request_id == response.headers["X-Request-ID"] and len(request_id) == 32
    line = wait_until(
        lambda: next((line for line in log_lines(api) if line.get("request_id") == request_id), None),
        timeout=10,
        message="the error's request id in the API's log",
    )
    assert line["logger"] == "uvicorn.access" and line["status"] == 404
    assert line["path"] == "/api/v1/items/987654321" and line["program"] == "api"


def raw_request(api: LiveApi, head: bytes) -> bytes:
    """Bytes no HTTP client library would send."""
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=10) as conn:
        conn.sendall(head)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def response_request_id(answer: bytes) -> str | None:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"x-request-id":
            return value.strip().decode()
    return None


@pytest.mark.parametrize(
    "given",
    [b"x" * 129, b"two words", b"tab\there", b"semi;colon"],
    ids=["too-long", "space", "tab", "semicolon"],
)
def test_a_bad_request_id_is_replaced_never_logged(api: LiveApi, given: bytes) -> None:
    marker = uuid.uuid4().hex
    answer = raw_request(
        api,
        b"GET /api/v1/items/"
        + marker.encode()
        + b" HTTP/1.1\r\nHost: t\r\nX-Request-ID: "
        + given
        + b"\r\nConnection: close\r\n\r\n",
    )
    replaced = response_request_id(answer)
    assert replaced is not None and replaced.encode() != given and len(replaced) == 32
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["request_id"] == replaced
    lines = wait_until(
        lambda: [line for line in log_lines(api) if marker in str(line.get("path", ""))],
        timeout=10,
        message="the request's access line",
    )
    assert [line["request_id"] for line in lines] == [replaced]
    assert given not in api.server.log_path.read_bytes()


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: t\r\nX-Request-ID: evil\x1b[31mred\r\nConnection: close\r\n\r\n",
        b"GET /health?q=\x1b[31mred HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    ],
    ids=["in-request-id", "in-query"],
)
def test_an_ansi_escape_never_reaches_the_log(api: LiveApi, head: bytes) -> None:
    answer = raw_request(api, head)
    assert answer.startswith(b"HTTP/1.1 400 ")  # uvicorn's parser refuses the request outright
    wait_until(
        lambda: any("Invalid HTTP request" in line["message"] for line in log_lines(api)),
        timeout=10,
        message="uvicorn's warning about the refused request",
    )
    raw = api.server.log_path.read_bytes()
    assert b"\x1b" not in raw and b"[31mred" not in raw


def test_every_line_of_the_api_log_is_one_json_object(api: LiveApi, owner: Caller) -> None:
    assert fresh_get(api, "/api/v1/items", headers=owner.headers).status_code == 200
    lines = wait_until(
        lambda: (
            (lines := log_lines(api))
            and any(line.get("logger") == "uvicorn.access" for line in lines)
            and lines
        ),
        timeout=10,
    )
    for line in lines:
        assert {"time", "level", "logger", "pid", "message", "program"} <= set(line), line
        assert line["program"] == "api"
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "uvicorn.error", "uvicorn.access"} <= loggers
    assert any(line["message"].startswith("Booting worker") for line in lines)


def test_a_worker_killed_mid_life_loses_no_count_and_leaves_no_gauge(
    api: LiveApi, admin: Caller, owner: Caller
) -> None:
    assert api.server.process is not None
    for _ in range(10):
        assert fresh_get(api, "/api/v1/items", headers=owner.headers).status_code == 200
    before = scrape(api, admin)
    workers = psutil.Process(api.server.process.pid).children()
    assert len(workers) == 2
    os.kill(workers[0].pid, signal.SIGKILL)  # gunicorn's child_exit drops its live gauges; a new one boots
    wait_until(
        lambda: (
            workers[0].pid not in [p.pid for p in psutil.Process(api.server.process.pid).children()]
            and len(psutil.Process(api.server.process.pid).children()) == 2
            and fresh_get(api, "/health").status_code == 200
        ),
        timeout=60,
        message="gunicorn replacing the killed worker",
    )
    after = wait_until(
        lambda: (s := scrape(api, admin))[("api_db_pool_connections_max", frozenset())] == 2 * (5 + 10) and s,
        timeout=30,
        message="the new worker's pool in the sums",
    )
    listed = requests_total("GET", "/api/v1/items", 200)
    assert after[listed] == before[listed]  # the dead worker's counts are still in the sum
    assert after[("api_requests_in_progress", frozenset())] == 1

"""Logging: silent unless asked, except one INFO line for a wait over 10 s; with debug on, useful
lines and never a key, token or password."""

from __future__ import annotations

import logging
import subprocess
import sys

import httpx
import pytest

from sdk._logging import setup_logging
from tests.unit.sdk.conftest import API_KEY, ScriptedAPI, error_body, item_json

PASSWORD = "hunter2-but-longer"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token"


def test_debug_logs_requests_and_retries_without_secrets(
    connect, api: ScriptedAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.reply(
        httpx.Response(200, json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 60}),
        httpx.Response(503, json=error_body("unavailable", "busy"), headers={"X-Request-ID": "rid-1"}),
        httpx.Response(201, json=item_json()),
        httpx.Response(200, json=item_json()),
    )
    with caplog.at_level(logging.DEBUG, logger="sdk"):
        client = connect(api_key=None)
        client.login(email="ann@example.com", password=PASSWORD)
        client.create_item(title="x")
        keyed = connect()
        keyed.get_item(item_id=1)
    text = caplog.text
    assert "POST /api/v1/items -> 503" in text and "rid-1" in text and "retrying in" in text
    for secret in (PASSWORD, TOKEN, API_KEY, API_KEY[12:]):
        assert secret not in text


RETRYING_SCRIPT = """
import httpx, sdk
replies = iter([httpx.Response(500), httpx.Response(200, json={"items": [], "total": 0, "page": 1,
                                                               "limit": 50, "pages": 0})])
http = httpx.Client(transport=httpx.MockTransport(lambda request: next(replies)))
sdk.Client(base_url="http://api.test", api_key="sk_x_k", http_client=http, sleep=lambda s: None).list_items()
print("ok")
"""


LONG_WAIT_SCRIPT = """
import logging, httpx, sdk
{setup}
replies = iter([httpx.Response(429, headers={{"Retry-After": "12"}}),
                httpx.Response(429, headers={{"Retry-After": "3"}}),
                httpx.Response(200, json={{"items": [], "total": 0, "page": 1, "limit": 50, "pages": 0}})])
http = httpx.Client(transport=httpx.MockTransport(lambda request: next(replies)))
sdk.Client(base_url="http://api.test", api_key="sk_x_k", http_client=http, sleep=lambda s: None,
           max_retries=3).list_items()
print("ok")
"""


def run_script(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    return result


def test_a_wait_over_10_s_is_one_info_line_on_stderr_when_nothing_is_configured() -> None:
    lines = run_script(LONG_WAIT_SCRIPT.format(setup="")).stderr.splitlines()
    assert len(lines) == 1, lines  # the 12 s wait; the 3 s one after it stays quiet
    assert " sdk INFO] GET /api/v1/items: HTTP 429; retrying in 12.00 s (retry 1 of 3)" in lines[0]


def test_a_long_wait_goes_through_the_applications_logging_once() -> None:
    configured = "logging.basicConfig(level=logging.WARNING, format='%(name)s:%(levelname)s:%(message)s')"
    lines = run_script(LONG_WAIT_SCRIPT.format(setup=configured)).stderr.splitlines()
    assert lines == ["sdk:INFO:GET /api/v1/items: HTTP 429; retrying in 12.00 s (retry 1 of 3)"]
    loud = run_script(LONG_WAIT_SCRIPT.format(setup=""), APP_SDK_LOG="info").stderr.splitlines()
    assert len(loud) == 2 and "retrying in 12.00 s" in loud[0] and "retrying in 3.00 s" in loud[1]


def test_an_application_that_silenced_the_sdk_logger_hears_nothing() -> None:
    silenced = "logging.getLogger('sdk').setLevel(logging.WARNING)"
    assert run_script(LONG_WAIT_SCRIPT.format(setup=silenced)).stderr == ""


def test_quiet_by_default_when_retrying_briefly_and_loud_with_app_sdk_log() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    quiet = subprocess.run(
        [sys.executable, "-c", RETRYING_SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == "ok" and quiet.stderr == ""
    loud = subprocess.run(
        [sys.executable, "-c", RETRYING_SCRIPT],
        capture_output=True,
        text=True,
        env={**env, "APP_SDK_LOG": "debug"},
        timeout=60,
    )
    assert loud.returncode == 0, loud.stderr
    assert "GET /api/v1/items -> 500" in loud.stderr and "retrying in" in loud.stderr
    assert "sk_x_k" not in loud.stderr


def test_setup_logging_ignores_unknown_values() -> None:
    logger = logging.getLogger("sdk")
    handlers = list(logger.handlers)
    setup_logging({"APP_SDK_LOG": "loud"})
    assert logger.handlers == handlers

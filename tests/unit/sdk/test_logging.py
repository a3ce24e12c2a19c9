"""Logging: silent unless asked; with debug on, useful lines and never a key, token or password."""

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


def test_quiet_by_default_even_when_retrying_and_loud_with_app_sdk_log() -> None:
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

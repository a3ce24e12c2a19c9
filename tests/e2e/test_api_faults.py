"""What a user sees when the API is down or says "too many requests" (real servers, real faults)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, ConsoleLog
from tests.e2e.servers import ViteServer
from tests.support.api_server import ApiServer
from tests.support.net import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dead_api_frontend(
    browser: Any, frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ViteServer]:
    """The frontend with nothing listening where its API should be."""
    home = tmp_path_factory.mktemp("dead-api")
    api_url = f"http://127.0.0.1:{free_port()}"
    with ViteServer(api_url=api_url, log_dir=home, mode="preview", dist=frontend_dist) as vite:
        yield vite


@pytest.fixture(scope="module")
def strict_login_frontend(
    browser: Any, frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ViteServer]:
    """A real API that allows two login attempts a minute per client, behind the frontend."""
    home: Path = tmp_path_factory.mktemp("rate-limited")
    env = {**API_TEST_ENV, "RATE_LIMIT_LOGIN": "2/minute"}
    with (
        ApiServer(home, env=env) as api,
        ViteServer(api_url=api.url, log_dir=home / "logs", mode="preview", dist=frontend_dist) as vite,
    ):
        yield vite


def test_api_down_at_sign_in_says_so(page: Any, dead_api_frontend: ViteServer, console: ConsoleLog) -> None:
    console.allow_http_errors(502)
    page.goto(dead_api_frontend.url + "/login")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Password").fill("whatever it is")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The API is not answering")
    expect(page.get_by_role("button", name="Sign in")).to_be_enabled()


def test_api_down_with_a_session_shows_a_retry_not_a_blank_page(
    page: Any, dead_api_frontend: ViteServer, console: ConsoleLog
) -> None:
    console.allow_http_errors(502)
    page.goto(dead_api_frontend.url + "/login")
    page.evaluate("sessionStorage.setItem('svcstack.token', 'a-token-from-before')")
    page.goto(dead_api_frontend.url + "/items")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Cannot reach the API.")
    retries = []
    page.on("request", lambda r: retries.append(r.url) if "/api/v1/auth/me" in r.url else None)
    alert.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach the API.")
    assert retries, "Retry asked the API again"
    # The session is kept: it was the API that failed, not the token.
    assert page.evaluate("sessionStorage.getItem('svcstack.token')") == "a-token-from-before"


def test_too_many_login_attempts_say_when_to_try_again(
    page: Any, strict_login_frontend: ViteServer, console: ConsoleLog
) -> None:
    console.allow_http_errors(401, 429)
    page.goto(strict_login_frontend.url + "/login")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("guess number one")
    button = page.get_by_role("button", name="Sign in")
    alert = page.get_by_role("alert")
    for expected_status in (401, 401, 429):
        with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as answer:
            button.click()
        assert answer.value.status == expected_status
        if expected_status == 401:
            expect(alert).to_have_text("Wrong email or password.")
    expect(alert).to_have_text(re.compile(r"Too many requests\. Try again in \d+ s\."))
    expect(button).to_be_enabled()

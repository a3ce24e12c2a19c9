"""Signing in and out, sessions that end, and API keys, in a real browser against a real API."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ConsoleLog, FrontendStack, create_user, login

pytestmark = pytest.mark.browser

BEA = "bea@example.com"
ADMIN = "root@example.com"
EXPIRED = "Your session has expired. Please sign in again."


@pytest.fixture(scope="module", autouse=True)
def users(frontend_stack: FrontendStack) -> dict[str, int]:
    return {
        BEA: create_user(frontend_stack.api, BEA),
        ADMIN: create_user(frontend_stack.api, ADMIN, is_admin=True),
    }


def expired_token(stack: FrontendStack, user_id: int) -> str:
    """A token the API really issued the shape of, signed with its secret, expired a minute ago."""
    from api.security import create_access_token

    return create_access_token(user_id, secret=stack.api.env["JWT_SECRET"], expires_in=-60)


def store_token(page: Any, token: str) -> None:
    page.evaluate("t => sessionStorage.setItem('svcstack.token', t)", token)


def test_wrong_password_is_shown_inline(
    page: Any, frontend_stack: FrontendStack, console: ConsoleLog
) -> None:
    console.allow_http_errors(401)
    page.goto(frontend_stack.url + "/items")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fitems$"))
    page.get_by_label("Email").fill(BEA)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Password")).to_have_value("not the password")
    assert page.evaluate("sessionStorage.length") == 0


def test_sign_in_with_the_keyboard_only_and_log_out(page: Any, frontend_stack: FrontendStack) -> None:
    page.goto(frontend_stack.url + "/")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(BEA)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Items")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/items$"))
    expect(page.get_by_text(BEA)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(frontend_stack.url + "/api-keys")  # nothing remembered: back to the login form
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapi-keys$"))


def test_expired_session_on_arrival_goes_to_login_and_back(
    page: Any, frontend_stack: FrontendStack, users: dict[str, int], console: ConsoleLog
) -> None:
    console.allow_http_errors(401)
    page.goto(frontend_stack.url + "/login")
    store_token(page, expired_token(frontend_stack, users[BEA]))
    page.goto(frontend_stack.url + "/api-keys")
    expect(page.get_by_text(EXPIRED)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapi-keys$"))

    page.get_by_label("Email").fill(BEA)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/api-keys$"))


def test_session_expiring_while_in_use_goes_to_login(
    page: Any, frontend_stack: FrontendStack, users: dict[str, int], console: ConsoleLog
) -> None:
    console.allow_http_errors(401)
    login(page, frontend_stack.url, BEA)
    store_token(page, expired_token(frontend_stack, users[BEA]))
    page.get_by_label("Status").select_option("done")  # the next request carries the expired token
    expect(page.get_by_text(EXPIRED)).to_be_visible()
    expect(page.get_by_label("Email")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('svcstack.token')") is None


def test_api_key_is_shown_once_copied_and_revoked(
    page: Any, frontend_stack: FrontendStack, console: ConsoleLog
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=frontend_stack.url)
    login(page, frontend_stack.url, BEA, path="/api-keys")
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()

    page.get_by_label("Key name").fill("notebook")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("New API key")
    expect(shown).to_have_value(re.compile(r"^sk_[A-Za-z0-9]{8}_\S{30,}$"))
    key = shown.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key

    # The key works against the API, then is gone from the page for good.
    assert httpx.get(frontend_stack.api.url + "/api/v1/items", headers={"X-API-Key": key}).status_code == 200
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_label("New API key")).to_have_count(0)
    assert key not in page.content()
    row = page.locator("tr", has_text="notebook")
    expect(row.get_by_text("Active")).to_be_visible()
    expect(row).to_contain_text(key.split("_")[1])  # the prefix stays visible

    row.get_by_role("button", name="Revoke notebook").click()
    row.get_by_role("button", name="Yes, revoke").click()
    expect(page.get_by_role("status").filter(has_text="revoked")).to_have_text("Key “notebook” revoked.")
    assert httpx.get(frontend_stack.api.url + "/api/v1/items", headers={"X-API-Key": key}).status_code == 401
    # A revoked key leaves the list; it is still there behind the toggle.
    expect(row).to_have_count(0)
    expect(page.get_by_text("No active API keys.")).to_be_visible()
    page.get_by_label("Show revoked keys (1)").check()
    expect(row.get_by_text("Revoked")).to_be_visible()


def test_api_keys_newest_first_and_one_period_in_the_hint(page: Any, frontend_stack: FrontendStack) -> None:
    login(page, frontend_stack.url, BEA, path="/api-keys")
    page.get_by_role("link", name="API keys").click()
    for name in ("first key", "second key", "third key"):
        page.get_by_label("Key name").fill(name)
        page.get_by_role("button", name="Create key").click()
        page.get_by_role("button", name="Done").click()
        expect(page.locator("tbody tr").first).to_contain_text(name)
    names = page.locator("tbody tr td:first-child").all_inner_texts()
    assert names[:3] == ["third key", "second key", "first key"]
    hint = page.locator(".hint").inner_text()
    assert ".." not in hint and not hint.endswith("….")


def test_services_link_only_for_admins(page: Any, frontend_stack: FrontendStack) -> None:
    login(page, frontend_stack.url, BEA)
    nav_links = page.get_by_role("navigation", name="Main").get_by_role("link")
    expect(nav_links).to_have_text(["Items", "API keys"])
    page.goto(frontend_stack.url + "/admin/services")
    expect(page.get_by_text("Only administrators can see the services.")).to_be_visible()

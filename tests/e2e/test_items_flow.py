"""The items page in a real browser against a real API, worker and Vite dev server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ConsoleLog, FrontendStack, create_user, login

pytestmark = pytest.mark.browser

ANN = "ann@example.com"
PAGER = "pager@example.com"


@pytest.fixture(scope="module", autouse=True)
def users(frontend_stack: FrontendStack) -> None:
    create_user(frontend_stack.api, ANN)
    pager_id = create_user(frontend_stack.api, PAGER)
    seed_done_items(frontend_stack, pager_id, 120)


def seed_done_items(stack: FrontendStack, user_id: int, count: int) -> None:
    """Already processed items, written straight to the database so the worker has nothing to do."""
    from store.db import Database
    from store.models import Item, ItemStatus

    db = Database(stack.api.database_url)
    try:
        with db.session() as session:
            session.add_all(
                Item(
                    user_id=user_id,
                    title=f"Bulk {n:03d}",
                    description="",
                    metadata_={},
                    status=ItemStatus.DONE,
                    attempts=1,
                )
                for n in range(1, count + 1)
            )
    finally:
        db.engine.dispose()


def token_for(stack: FrontendStack, email: str) -> str:
    r = httpx.post(stack.api.url + "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    r.raise_for_status()
    return str(r.json()["access_token"])


def api_create(stack: FrontendStack, email: str, title: str) -> dict[str, Any]:
    r = httpx.post(
        stack.api.url + "/api/v1/items",
        json={"title": title},
        headers={"Authorization": f"Bearer {token_for(stack, email)}"},
    )
    r.raise_for_status()
    return dict(r.json())


def row(page: Any, item_id: int) -> Any:
    return page.locator(f'tr[data-item-id="{item_id}"]')


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_created_item_becomes_done_without_a_reload(page: Any, frontend_stack: FrontendStack) -> None:
    login(page, frontend_stack.url, ANN)
    expect(page.get_by_role("heading", name="Items")).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    list_requests: list[str] = []
    page.on("request", lambda r: list_requests.append(r.url) if "/api/v1/items?" in r.url else None)

    page.get_by_role("button", name="New item").click()
    expect(page.get_by_label("Title", exact=True)).to_be_focused()
    page.get_by_label("Title", exact=True).fill("Quarterly report")
    page.get_by_label("Description").fill("numbers and words")
    page.get_by_role("button", name="Create item").click()

    flash = page.get_by_role("status").filter(has_text="created")
    expect(flash).to_have_text(re.compile(r"Item #\d+ created\."))
    created = page.locator("tr", has_text="Quarterly report")
    expect(created.locator(".badge")).to_have_text("Done", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    assert len(list_requests) >= 2, "the table refreshed by polling, not just once after the create"


def test_edit_an_item_and_process_it_again(page: Any, frontend_stack: FrontendStack) -> None:
    item = api_create(frontend_stack, ANN, "Draft title")
    login(page, frontend_stack.url, ANN)
    expect(row(page, item["id"]).locator(".badge")).to_have_text("Done", timeout=30_000)

    row(page, item["id"]).get_by_role("button", name=f"Edit item {item['id']}").click()
    title = page.get_by_label("Title", exact=True)
    expect(title).to_have_value("Draft title")
    title.fill("Final title")
    page.get_by_label("Process again").check()
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text(f"Item #{item['id']} saved.")
    expect(row(page, item["id"]).locator(".item-title")).to_have_text("Final title")
    expect(row(page, item["id"]).locator(".badge")).to_have_text("Done", timeout=30_000)
    r = httpx.get(
        f"{frontend_stack.api.url}/api/v1/items/{item['id']}",
        headers={"Authorization": f"Bearer {token_for(frontend_stack, ANN)}"},
    )
    assert r.json()["title"] == "Final title"
    assert r.json()["metadata"]["result"]["words"] == 2  # processed again, from the new title


def test_delete_asks_first(page: Any, frontend_stack: FrontendStack) -> None:
    item = api_create(frontend_stack, ANN, "Short-lived")
    login(page, frontend_stack.url, ANN)
    target = row(page, item["id"])
    target.get_by_role("button", name=f"Delete item {item['id']}").click()
    confirm = target.get_by_role("button", name="Yes, delete")
    expect(confirm).to_be_focused()
    target.get_by_role("button", name="Cancel").click()
    expect(target).to_be_visible()

    target.get_by_role("button", name=f"Delete item {item['id']}").click()
    target.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("status").filter(has_text="deleted")).to_have_text(f"Item #{item['id']} deleted.")
    expect(target).to_have_count(0)
    r = httpx.get(
        f"{frontend_stack.api.url}/api/v1/items/{item['id']}",
        headers={"Authorization": f"Bearer {token_for(frontend_stack, ANN)}"},
    )
    assert r.status_code == 404


def test_empty_title_shows_the_api_validation_message(
    page: Any, frontend_stack: FrontendStack, console: ConsoleLog
) -> None:
    console.allow_http_errors(422)
    login(page, frontend_stack.url, ANN)
    page.get_by_role("button", name="New item").click()
    page.get_by_role("button", name="Create item").click()
    title = page.get_by_label("Title", exact=True)
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_be_focused()
    # The message is on the field itself: a screen reader reads it with the input.
    expect(title).to_have_accessible_description(re.compile("at least 1"))


def test_long_titles_wrap_and_too_long_is_refused_on_the_field(
    page: Any, frontend_stack: FrontendStack, console: ConsoleLog
) -> None:
    console.allow_http_errors(422)
    longest = "W" * 200  # one unbreakable word: the worst case for a table cell
    login(page, frontend_stack.url, ANN)
    page.get_by_role("button", name="New item").click()
    page.get_by_label("Title", exact=True).fill(longest)
    page.get_by_role("button", name="Create item").click()
    expect(page.locator(".item-title", has_text=longest)).to_have_text(longest)
    assert no_horizontal_overflow(page)

    page.get_by_role("button", name="New item").click()
    page.get_by_label("Title", exact=True).fill(longest + "X")
    page.get_by_role("button", name="Create item").click()
    title = page.get_by_label("Title", exact=True)
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_accessible_description(re.compile("at most 200"))

    page.set_viewport_size({"width": 375, "height": 740})  # a phone
    expect(page.locator(".item-title", has_text=longest).first).to_be_visible()
    assert no_horizontal_overflow(page)


def test_html_and_script_in_titles_are_shown_as_text(page: Any, frontend_stack: FrontendStack) -> None:
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'
    item = api_create(frontend_stack, ANN, payload)
    login(page, frontend_stack.url, ANN)
    expect(row(page, item["id"]).locator(".item-title")).to_have_text(payload)
    assert page.evaluate("window.__pwned") is None
    assert row(page, item["id"]).locator("img, script, b").count() == 0


def test_page_through_120_items(page: Any, frontend_stack: FrontendStack) -> None:
    login(page, frontend_stack.url, PAGER)
    page.get_by_label("Per page").select_option("50")
    summary = page.locator(".pagination-summary")
    expect(summary).to_have_text("Items 1–50 of 120")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first.locator(".item-title")).to_have_text("Bulk 120")  # newest first

    page.get_by_role("button", name="Page 3").click()
    expect(summary).to_have_text("Items 101–120 of 120")
    expect(rows).to_have_count(20)
    expect(rows.last.locator(".item-title")).to_have_text("Bulk 001")
    expect(page.get_by_role("button", name="Page 3")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    assert "page=3" in page.url and "limit=50" in page.url

    page.get_by_role("button", name="Previous page").click()
    expect(summary).to_have_text("Items 51–100 of 120")
    page.go_back()  # the page lives in the URL, so history works
    expect(summary).to_have_text("Items 101–120 of 120")

    page.get_by_label("Search titles").fill("bulk 11")
    page.get_by_role("button", name="Search").click()
    expect(summary).to_have_text("Items 1–10 of 10")  # Bulk 110 .. Bulk 119
    page.get_by_label("Status").select_option("failed")
    expect(page.get_by_text("No items match these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(summary).to_have_text("Items 1–50 of 120")

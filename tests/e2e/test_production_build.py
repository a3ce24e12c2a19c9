"""The production build served by the API itself (STATIC_DIR), as a user's browser gets it: compressed
and cached, and a page that rides out the API going away and coming back without a click."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, ConsoleLog, create_user, login
from tests.e2e.servers import ViteServer
from tests.support.api_server import ApiServer

pytestmark = pytest.mark.browser

ANN = "ann@example.com"
ITEMS = 30  # more than one page of 25


@dataclass
class ProductionSite:
    api: ApiServer
    vite: ViteServer  # `vite preview` (Vite's proxy) in front of the same API (a reload while it is down)

    @property
    def url(self) -> str:
        return self.api.url


def seed(api: ApiServer, user_id: int) -> None:
    from store.db import Database
    from store.models import Item

    db = Database(api.database_url)
    try:
        with db.session() as session:
            for n in range(1, ITEMS + 1):
                session.add(
                    Item(
                        user_id=user_id, title=f"Item number {n}", description="", metadata_={}, status="done"
                    )
                )
    finally:
        db.engine.dispose()


@pytest.fixture(scope="module")
def site(
    browser: Any, frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProductionSite]:
    """The API serving `npm run build`'s output (frontend_dist: built for this run, never src/frontend/dist,
    which may be someone else's)."""
    home = tmp_path_factory.mktemp("production-build")
    with ApiServer(home, env={**API_TEST_ENV, "STATIC_DIR": str(frontend_dist)}) as api:
        seed(api, create_user(api, ANN))
        with ViteServer(api_url=api.url, log_dir=home / "logs", mode="preview", dist=frontend_dist) as vite:
            yield ProductionSite(api, vite)


def in_viewport(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_assets_come_compressed_and_cached_for_ever(page: Any, site: ProductionSite) -> None:
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    login(page, site.url, ANN)
    expect(page.locator("tbody tr")).to_have_count(25)
    documents = [r for r in responses if r.request.resource_type == "document"]
    assets = [r for r in responses if "/assets/" in r.url]
    assert documents and {r.headers.get("cache-control") for r in documents} == {"no-cache"}
    assert {Path(r.url).suffix for r in assets} == {".js", ".css"}
    for asset in assets:
        headers = asset.all_headers()
        assert headers.get("content-encoding") in ("gzip", "br"), asset.url
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
    # Coming back: the hashed files come from the browser's cache, only the page is asked again.
    page.goto(site.url + "/items")
    expect(page.locator("tbody tr")).to_have_count(25)
    sizes = page.evaluate(
        "performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/assets/')).map(e => e.transferSize)"
    )
    assert sizes and all(size == 0 for size in sizes), sizes  # 0 bytes over the wire: from the cache


def test_api_down_on_page_two_shows_the_error_in_view_then_recovers(
    page: Any, site: ProductionSite, console: ConsoleLog
) -> None:
    console.allow_connection_errors()
    login(page, site.url, ANN)
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(25)
    page.get_by_role("button", name="Page 2").scroll_into_view_if_needed()
    page.mouse.wheel(0, 5000)
    site.api.stop()
    try:
        page.get_by_role("button", name="Page 2").click()
        expect(page).to_have_url(site.url + "/items?page=2")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Cannot reach the API.")
        assert in_viewport(page, alert), alert.bounding_box()
        # Never page 1 under a URL that says page 2.
        expect(page.get_by_text("Item number 30", exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="Page 2")).to_have_attribute("aria-current", "page")
    finally:
        site.api.start()
    # No click: the page tries again by itself and shows page 2.
    expect(rows).to_have_count(ITEMS - 25, timeout=30_000)
    expect(page.get_by_text("Item number 5", exact=True)).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_api_down_at_reload_keeps_the_header_and_recovers(
    page: Any, site: ProductionSite, console: ConsoleLog
) -> None:
    console.allow_http_errors(502)  # Vite's proxy answers for the stopped API
    login(page, site.vite.url, ANN)
    expect(page.locator("tbody tr")).to_have_count(25)
    site.api.stop()
    try:
        page.reload()
        expect(page.get_by_role("alert")).to_contain_text("Cannot reach the API.")
        expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
            ["Items", "API keys"]
        )
        expect(page.locator(".who")).to_have_text(ANN)
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
    finally:
        site.api.start()
    expect(page.locator("tbody tr")).to_have_count(25, timeout=30_000)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_table_cells_are_centred_on_the_row(page: Any, site: ProductionSite) -> None:
    login(page, site.url, ANN)
    row = page.locator("tbody tr").first
    expect(row).to_be_visible()
    title = row.locator(".item-title").bounding_box()
    button = row.get_by_role("button", name="Edit").bounding_box()
    assert title is not None and button is not None
    title_middle = title["y"] + title["height"] / 2
    button_middle = button["y"] + button["height"] / 2
    assert abs(title_middle - button_middle) <= 2, (title, button)


# Every Content-Security-Policy violation of the page, as the browser reports it to the document.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""


def test_the_journey_runs_under_the_apps_csp_without_a_violation(
    page: Any, site: ProductionSite, console: ConsoleLog
) -> None:
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    documents: list[Any] = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
    login(page, site.url, ANN)
    expect(page.locator("tbody tr")).to_have_count(25)
    page.get_by_role("button", name="Page 2").click()
    expect(page.locator("tbody tr")).to_have_count(ITEMS - 25)
    page.get_by_role("button", name="New item").click()
    page.get_by_role("textbox", name="Title").fill("made under the CSP")
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_text("made under the CSP")).to_be_visible()
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Key name").fill("under the CSP")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("New API key")).to_have_value(re.compile(r"^sk_"))
    page.get_by_role("button", name="Done").click()
    page.get_by_role("button", name="Revoke under the CSP").click()
    page.get_by_role("button", name="Yes, revoke").click()
    expect(page.get_by_role("status").filter(has_text="revoked")).to_be_visible()
    page.reload()  # the page itself once more, straight from the API
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.goto(site.url + "/items")  # revalidated (304): the stored page keeps the app's policy
    expect(page.locator("tbody tr")).to_have_count(25)
    assert page.evaluate("window.__cspViolations") == []
    assert not [text for text in console.errors if "Content Security Policy" in text]
    assert documents
    for document in documents:
        headers = document.all_headers()
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"


def test_another_site_cannot_frame_the_app(page: Any, site: ProductionSite, console: ConsoleLog) -> None:
    # Any other page (here one of its own, about:blank) that frames the app's login page.
    with page.expect_event(
        "framenavigated",
        predicate=lambda frame: frame.parent_frame is not None and frame.url != "about:blank",
    ) as navigated:
        page.set_content(f'<iframe id="framed" src="{site.url}/login"></iframe>')
    # The browser shows its error page in the frame instead of the app: no login form in it.
    assert not navigated.value.url.startswith(site.url), navigated.value.url
    expect(page.frame_locator("#framed").get_by_label("Email")).to_have_count(0)
    console.errors[:] = [e for e in console.errors if "frame-ancestors" not in e and "Refused to" not in e]

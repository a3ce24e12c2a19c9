"""docs/services-page.png: the Services page of a real stack, taken by Playwright.

    .venv/bin/python -m tests.e2e.services_screenshot docs/services-page.png

Boots the whole stack (tests.support.stack.Stack: supervisord, gunicorn, two workers, Vite) with a
second supervisord on a TCP port as another host (SUPERVISOR_SERVERS), an admin, a few items for the
workers and two hours of queue history (a backlog draining, as the health listener's sampler would
have written it), then signs in, opens the page and another host's log, and saves a full-page shot.
Everything it started is stopped and checked gone on the way out.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from tests.e2e.conftest import API_TEST_ENV, CHROMIUM_ARGS, PASSWORD, login
from tests.support.inet_supervisord import CHATTY, SLEEP, InetSupervisord
from tests.support.stack import Stack
from tests.support.wait import wait_until


def seed(database_url: str) -> None:
    from store.accounts import create_user
    from store.db import Database
    from store.models import QueueSample

    now = int(time.time())
    history = []
    for m in range(120, -1, -1):  # a backlog of 300 arriving 90 minutes ago, drained by the workers
        at = now - m * 60
        backlog = 0 if m > 90 else max(0, 300 - (90 - m) * 6)
        done = 1200 + (0 if m > 90 else min(300, (90 - m) * 6))
        history.append(
            {
                "at": at,
                "queue": "items",
                "pending": backlog,
                "processing": 2 if backlog else 0,
                "done": done,
                "failed": 4 + (1 if m < 40 else 0),
            }
        )
    db = Database(database_url)
    try:
        with db.session() as session:
            create_user(session, email="admin@example.com", password=PASSWORD, is_admin=True)
        with db.engine.begin() as conn:
            conn.execute(insert(QueueSample), history)
    finally:
        db.engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.e2e.services_screenshot OUT.png", file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="services-shot-") as tmp:
        home = Path(tmp)
        with InetSupervisord(home / "host-b", {"echo": SLEEP, "chatty": CHATTY}) as other:
            stack_home = home / "stack"
            stack_home.mkdir()
            socket = stack_home / "var" / "run" / "supervisor.sock"
            env = {**API_TEST_ENV, "SUPERVISOR_SERVERS": f"unix://{socket},{other.url}"}
            with Stack(stack_home, env=env) as stack:
                stack.wait_running()
                wait_until(
                    lambda: httpx.get(stack.api_url + "/health", timeout=2).status_code == 200,
                    timeout=90,
                    message="API healthy",
                )
                seed(f"sqlite:///{stack_home / 'var' / 'app.db'}")
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                    )
                    try:
                        page = browser.new_page(
                            viewport={"width": 1200, "height": 900}, device_scale_factor=1
                        )
                        login(page, stack.frontend_url, "admin@example.com")
                        page.get_by_role("link", name="Services").click()
                        page.get_by_role("region", name=f"Host {other.label}").locator("tbody tr").nth(
                            1
                        ).wait_for()
                        page.get_by_test_id("queue-history-summary").filter(has_text="points").wait_for()
                        page.get_by_role("button", name=f"Log of chatty on {other.label}").click()
                        page.get_by_test_id("log-lines").locator(".log-line").nth(5).wait_for()
                        page.get_by_label("Search loaded lines").fill("tick")
                        page.locator(".queue-chart canvas").first.wait_for()
                        out.parent.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(out), full_page=True)
                        page.goto("about:blank")
                    finally:
                        browser.close()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The operator's view in a browser, on a real stack (supervisord, gunicorn, two workers, Vite):
follow a program's log and see a new line once, watch the queue chart move as items are created
and processed, and find none of it as a non-admin."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, PASSWORD, ConsoleLog, login
from tests.support.stack import Stack
from tests.support.wait import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# `talker` prints "ping N" each time it gets SIGUSR1: the test decides when a log line is written.
TALKER = (
    "import itertools, signal, time\n"
    "count = itertools.count(1)\n"
    "signal.signal(signal.SIGUSR1, lambda *_: print(f'ping {next(count)}', flush=True))\n"
    "print('talker ready', flush=True)\n"
    "while True:\n"
    "    time.sleep(3600)\n"
)


@dataclass
class Operated:
    stack: Stack
    user_headers: dict[str, str]


@pytest.fixture(scope="module")
def operated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operated]:
    home = tmp_path_factory.mktemp("operated")
    (home / "talker.py").write_text(TALKER)
    talker = (
        f"[program:talker]\ncommand = {sys.executable} {home / 'talker.py'}\n"
        f"stdout_logfile = {home / 'logs' / 'talker.log'}\nstartsecs = 0\n"
    )
    with Stack(home, env={**API_TEST_ENV, "WORKER_SIMULATED_WORK": "0.2"}, extra_programs=talker) as stack:
        stack.wait_running()
        wait_until(
            lambda: httpx.get(stack.api_url + "/health", timeout=2).status_code == 200,
            timeout=60,
            message="API healthy",
        )
        from store.accounts import create_api_key, create_user
        from store.db import Database

        db = Database(f"sqlite:///{home / 'var' / 'app.db'}")  # the Stack's API database
        try:
            with db.session() as session:
                create_user(session, email="admin@example.com", password=PASSWORD, is_admin=True)
                user = create_user(session, email="user@example.com", password=PASSWORD)
                _, key = create_api_key(session, user_id=user.id, name="e2e")
        finally:
            db.engine.dispose()
        yield Operated(stack, {"X-API-Key": key})


def admin_headers(operated: Operated) -> dict[str, str]:
    r = httpx.post(
        f"{operated.stack.api_url}/api/v1/auth/login",
        json={"email": "admin@example.com", "password": PASSWORD},
        timeout=10,
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def open_services(page: Any, operated: Operated) -> None:
    login(page, operated.stack.frontend_url, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    expect(page.get_by_role("heading", name="Services")).to_be_focused()


def test_follow_a_log_and_see_a_new_line_once(page: Any, console: ConsoleLog, operated: Operated) -> None:
    open_services(page, operated)
    page.get_by_role("button", name="Log of talker").click()
    lines = page.get_by_test_id("log-lines")
    expect(lines).to_contain_text("talker ready")

    operated.stack.rpc().supervisor.signalProcess("talker", "USR1")
    expect(lines.locator(".log-line", has_text="ping 1")).to_have_count(1)

    page.get_by_role("button", name="Pause").click()
    operated.stack.rpc().supervisor.signalProcess("talker", "USR1")
    expect(page.get_by_role("status").filter(has_text="Paused")).to_contain_text("1 new line held")
    expect(lines.locator(".log-line", has_text="ping 2")).to_have_count(0)
    page.get_by_role("button", name="Resume").click()
    expect(lines.locator(".log-line", has_text="ping 2")).to_have_count(1)
    expect(lines.locator(".log-line", has_text="ping 1")).to_have_count(1)
    assert console.unexpected() == []


def test_the_queue_chart_moves_as_items_are_created_and_processed(
    page: Any, console: ConsoleLog, operated: Operated
) -> None:
    open_services(page, operated)
    done = page.locator("dd[data-status=done]")
    expect(done).not_to_have_text("—")
    before = int(done.inner_text())
    api = operated.stack.api_url
    for i in range(6):
        r = httpx.post(f"{api}/api/v1/items", json={"title": f"chart {i}"}, headers=operated.user_headers)
        assert r.status_code == 201, r.text
    wait_until(
        lambda: int(done.inner_text()) >= before + 6, timeout=60, message="six more items done in the chart"
    )
    assert page.locator(".queue-chart canvas").count() >= 1
    # Each worker's own report, from its health URL: state, items done, errors.
    workers = [page.get_by_test_id(f"worker-worker:worker_{n}") for n in (0, 1)]
    for report in workers:
        expect(report).to_contain_text(" done · ")
    wait_until(
        lambda: sum(int(r.inner_text().split(" · ")[1].split()[0]) for r in workers) >= 6,
        timeout=30,
        message="the workers' reports count the items they processed",
    )
    services = httpx.get(f"{api}/api/v1/admin/services", headers=admin_headers(operated), timeout=10).json()
    reports = [p["worker"] for p in services["programs"] if p["group"] == "worker"]
    assert len(reports) == 2 and all(r["errors_total"] == 0 and r["state"] for r in reports)
    assert console.unexpected() == []


def test_a_non_admin_reaches_none_of_it(page: Any, operated: Operated) -> None:
    login(page, operated.stack.frontend_url, "user@example.com")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Services")).to_have_count(0)
    api = operated.stack.api_url
    for path in ("/api/v1/admin/services", "/api/v1/admin/queue", "/api/v1/admin/services/api/log"):
        r = httpx.get(api + path, headers=operated.user_headers)
        assert r.status_code == 403, (path, r.status_code)
        assert json.loads(r.text)["error"]["code"] == "forbidden"


def test_stop_and_start_a_worker_from_the_page(page: Any, console: ConsoleLog, operated: Operated) -> None:
    open_services(page, operated)
    rpc = operated.stack.rpc()
    row = page.locator(".services-table tr", has_text="worker:worker_0")
    expect(row.locator(".badge").first).to_have_text("RUNNING")

    page.get_by_role("button", name="Stop worker:worker_0").click()
    dialog = page.get_by_role("dialog", name="Stop worker:worker_0?")
    dialog.get_by_role("button", name="Cancel").click()
    assert rpc.supervisor.getProcessInfo("worker:worker_0")["statename"] == "RUNNING"

    page.get_by_role("button", name="Stop worker:worker_0").click()
    dialog.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status").filter(has_text="worker:worker_0 stopped.")).to_be_visible(
        timeout=30_000
    )
    assert rpc.supervisor.getProcessInfo("worker:worker_0")["statename"] == "STOPPED"
    expect(row.locator(".badge").first).to_have_text("STOPPED")

    page.get_by_role("button", name="Start worker:worker_0", exact=True).click()
    page.get_by_role("dialog", name="Start worker:worker_0?").get_by_role(
        "button", name="Start", exact=True
    ).click()
    expect(page.get_by_role("status").filter(has_text="worker:worker_0 started")).to_contain_text(
        "RUNNING", timeout=30_000
    )
    assert rpc.supervisor.getProcessInfo("worker:worker_0")["statename"] == "RUNNING"
    expect(row.locator(".badge").first).to_have_text("RUNNING")
    assert console.unexpected() == []

"""The operator's view in a browser, on a real stack (supervisord, gunicorn, two workers, Vite; the
browser gets the production build from `vite preview`, Vite's proxy in front of the stack's API):
the page lists the stack's programs and the API restarts itself from it; follow a program's log and
see a new line once, also across a restart of the API and a hung API;
watch the queue chart move as items are created and processed; the page honest while the API is
down; every dialog by keyboard; axe finds nothing serious; and none of it for a non-admin."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, PASSWORD, ConsoleLog, login, seed
from tests.e2e.servers import FRONTEND, ViteServer
from tests.support.stack import Stack
from tests.support.wait import wait_until

VENV_BIN = Path(sys.executable).parent
AXE = FRONTEND / "node_modules" / "axe-core" / "axe.min.js"
# A short heartbeat here, so that a silent stream is noticed in seconds (2 missed: 2 x 1 s + 2 s).
LOG_ENV = {"API_LOG_HEARTBEAT_SECONDS": "1", "API_LOG_RECHECK_SECONDS": "2"}
# While the API is away, the page's requests through Vite's proxy fail (Vite answers 500 for a
# refused connection) or the browser cannot connect.
API_AWAY_STATUSES = (500, 502, 503, 504)

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
    url: str  # the app, built, before the stack's API


@pytest.fixture(scope="module")
def operated(frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operated]:
    home = tmp_path_factory.mktemp("operated")
    (home / "talker.py").write_text(TALKER)
    talker = (
        f"[program:talker]\ncommand = {sys.executable} {home / 'talker.py'}\n"
        f"stdout_logfile = {home / 'logs' / 'talker.log'}\nstartsecs = 0\n"
    )
    env = {**API_TEST_ENV, **LOG_ENV, "WORKER_SIMULATED_WORK": "0.2"}
    with Stack(home, env=env, extra_programs=talker) as stack:
        stack.wait_running()
        wait_until(
            lambda: httpx.get(stack.api_url + "/health", timeout=2).status_code == 200,
            timeout=60,
            message="API healthy",
        )
        from store.accounts import create_api_key, create_user

        def users(session: Any) -> str:
            create_user(session, email="admin@example.com", password=PASSWORD, is_admin=True)
            user = create_user(session, email="user@example.com", password=PASSWORD)
            return create_api_key(session, user_id=user.id, name="e2e")[1]

        key = seed(f"sqlite:///{home / 'var' / 'app.db'}", users)  # the Stack's API database
        with ViteServer(
            api_url=stack.api_url, log_dir=home / "logs", mode="preview", dist=frontend_dist
        ) as vite:
            yield Operated(stack, {"X-API-Key": key}, vite.url)


def admin_headers(operated: Operated) -> dict[str, str]:
    r = httpx.post(
        f"{operated.stack.api_url}/api/v1/auth/login",
        json={"email": "admin@example.com", "password": PASSWORD},
        timeout=10,
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def open_services(page: Any, operated: Operated) -> None:
    login(page, operated.url, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    expect(page.get_by_role("heading", name="Services")).to_be_focused()


def test_admin_services_page_shows_the_real_stack(page: Any, operated: Operated) -> None:
    stack = operated.stack
    login(page, operated.url, "admin@example.com")
    page.get_by_role("link", name="Services").click()
    table = page.locator(".services-table")
    for name in ("api", "frontend", "worker:worker_0", "worker:worker_1"):
        expect(table.locator("tr", has_text=name).locator(".badge").first).to_have_text("RUNNING")
    summary = page.get_by_role("status").filter(has_text="supervisord")
    expect(summary).to_contain_text("all programs healthy", timeout=30_000)
    page.goto("about:blank")  # its polling would log the API's restart below as console errors

    # The API restarting itself: answered at once (202); then a TERM, and supervisord starts it again.
    def api_pid() -> int:
        return int(stack.rpc().supervisor.getProcessInfo("api")["pid"])

    before = api_pid()
    r = httpx.post(
        f"{stack.api_url}/api/v1/admin/services/api/restart", timeout=30, headers=admin_headers(operated)
    )
    assert r.status_code == 202, r.text
    assert r.json()["name"] == "api" and r.json()["pid"] == before

    def api_back() -> bool:
        try:
            healthy = httpx.get(stack.api_url + "/health", timeout=2).status_code == 200
            return api_pid() != before and healthy
        except httpx.HTTPError:
            return False

    wait_until(api_back, timeout=90, message=lambda: "the API restarted and healthy\n" + stack.log_tails())


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
    login(page, operated.url, "user@example.com")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Services")).to_have_count(0)
    api = operated.stack.api_url
    for path in (
        "/api/v1/admin/services",
        "/api/v1/admin/queue",
        "/api/v1/admin/services/api/log",
        "/api/v1/admin/queue/items/failed",
        "/api/v1/admin/audit",
        "/api/v1/admin/hosts",
        "/api/v1/admin/queue/history",
        "/api/v1/admin/services/api/log/download",
    ):
        r = httpx.get(api + path, headers=operated.user_headers)
        assert r.status_code == 403, (path, r.status_code)
        assert json.loads(r.text)["error"]["code"] == "forbidden"
    for path in ("/api/v1/admin/queue/items/failed/requeue", "/api/v1/admin/queue/items/failed/1/requeue"):
        assert httpx.post(api + path, headers=operated.user_headers).status_code == 403, path
    page.goto(operated.url + "/admin/services")
    expect(page.get_by_text("Only administrators can see the services.")).to_be_visible()
    expect(page.get_by_test_id("failed-items")).to_have_count(0)
    expect(page.get_by_test_id("audit-log")).to_have_count(0)


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


def supervisorctl(stack: Stack, *args: str, timeout: float = 90) -> float:
    """Run ``supervisorctl ARGS`` on the stack; the seconds it took."""
    started = time.monotonic()
    result = stack.run(
        str(VENV_BIN / "supervisorctl"), "-c", str(stack.home / "supervisord.conf"), *args, timeout=timeout
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    return took


def api_healthy(stack: Stack) -> bool:
    try:
        return httpx.get(stack.api_url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def restart_api(stack: Stack) -> float:
    took = supervisorctl(stack, "restart", "api")
    wait_until(lambda: api_healthy(stack), timeout=60, message=lambda: "API back\n" + stack.log_tails())
    return took


def ping_count(stack: Stack) -> int:
    """How many pings the talker has written so far (its log is the truth)."""
    log = (stack.home / "logs" / "talker.log").read_text()
    return sum(1 for line in log.splitlines() if line.startswith("ping "))


def ping(stack: Stack) -> str:
    """Make the talker write its next ping; wait until it is in its log; return the line."""
    before = ping_count(stack)
    stack.rpc().supervisor.signalProcess("talker", "USR1")
    wait_until(lambda: ping_count(stack) > before, timeout=10, message="the ping in the talker's log")
    return f"ping {before + 1}"


def open_talker_log(page: Any, operated: Operated) -> Any:
    open_services(page, operated)
    page.get_by_role("button", name="Log of talker").click()
    lines = page.get_by_test_id("log-lines")
    expect(lines).to_contain_text("talker ready")
    expect(page.get_by_test_id("log-state")).to_have_text("Following")
    return lines


def expect_each_once(lines: Any, written: list[str]) -> None:
    for text in written:
        expect(lines.locator(".log-line", has_text=re.compile(f"^{text}$"))).to_have_count(1, timeout=30_000)


def test_restarting_the_api_with_a_log_open_is_as_quick_and_loses_no_line(
    page: Any, console: ConsoleLog, operated: Operated
) -> None:
    """`supervisorctl restart api` with a log open in the browser takes about as long as without (the
    stream used to hold gunicorn's graceful stop for 20 s), and the lines written while the API was
    away appear once each when the viewer has followed again."""
    console.allow_http_errors(*API_AWAY_STATUSES)
    console.allow_connection_errors()
    stack = operated.stack
    without = restart_api(stack)

    lines = open_talker_log(page, operated)
    before = ping(stack)
    expect_each_once(lines, [before])

    written: list[str] = []
    took: list[float] = []
    restarting = threading.Thread(target=lambda: took.append(supervisorctl(stack, "restart", "api")))
    restarting.start()
    try:
        # The API's stream ends at once; the viewer says it is reconnecting: write while it is away.
        expect(page.get_by_test_id("log-state")).to_have_text("Reconnecting…", timeout=30_000)
        for _ in range(3):
            written.append(ping(stack))
    finally:
        restarting.join(timeout=120)
    wait_until(lambda: api_healthy(stack), timeout=60, message=lambda: "API back\n" + stack.log_tails())
    written.append(ping(stack))  # and one after the API is back
    expect(page.get_by_test_id("log-state")).to_have_text("Following", timeout=30_000)
    expect_each_once(lines, [before, *written])
    print(f"supervisorctl restart api: {without:.1f} s without a log open, {took[0]:.1f} s with one")
    assert took[0] < without + 5, (took[0], without)


def test_a_hung_api_is_noticed_by_the_missing_heartbeat_and_no_line_is_lost(
    page: Any, console: ConsoleLog, operated: Operated
) -> None:
    """The API stops answering but its connections stay open (SIGSTOP): Vite's proxy keeps the stream
    open and silent. The viewer notices the missing heartbeats, follows again, and once the API
    answers again shows every line written meanwhile, once."""
    console.allow_http_errors(*API_AWAY_STATUSES)
    console.allow_connection_errors()
    stack = operated.stack
    lines = open_talker_log(page, operated)
    first = ping(stack)
    expect_each_once(lines, [first])
    pid = int(stack.rpc().supervisor.getProcessInfo("api")["pid"])
    group = os.getpgid(pid)
    os.killpg(group, signal.SIGSTOP)
    written: list[str] = []
    try:
        written = [ping(stack), ping(stack)]
        expect(page.get_by_test_id("log-problem")).to_contain_text(
            "No word from the log stream", timeout=20_000
        )
        expect(page.get_by_test_id("log-state")).to_have_text("Reconnecting…")
    finally:
        os.killpg(group, signal.SIGCONT)
    written.append(ping(stack))
    expect(page.get_by_test_id("log-state")).to_have_text("Following", timeout=30_000)
    expect_each_once(lines, [first, *written])
    expect(page.get_by_test_id("log-problem")).to_have_count(0)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_nothing_serious_on_the_services_page(page: Any, operated: Operated) -> None:
    open_services(page, operated)
    expect(
        page.locator(".services-table tr", has_text="worker:worker_0").locator(".badge").first
    ).to_have_text("RUNNING")
    assert run_axe(page) == []
    page.get_by_role("button", name="Log of talker").click()
    expect(page.get_by_test_id("log-lines")).to_contain_text("talker ready")
    assert run_axe(page) == []
    page.get_by_role("button", name="Stop all in group worker").click()
    expect(page.get_by_role("dialog", name="Stop worker?")).to_be_visible()
    assert run_axe(page) == []
    page.keyboard.press("Escape")


DIALOGS = [
    # (the opener's accessible name, the dialog's name, its confirm button)
    ("Start all in group worker", "Start worker?", "Start"),
    ("Stop all in group worker", "Stop worker?", "Stop"),
    ("Restart all in group worker", "Restart worker?", "Restart"),
    ("Stop worker:worker_1", "Stop worker:worker_1?", "Stop"),
    ("Restart talker", "Restart talker?", "Restart"),
]


def test_every_dialog_by_keyboard_gives_the_focus_back(
    page: Any, console: ConsoleLog, operated: Operated
) -> None:
    """Each dialog opens from the keyboard with the focus on Cancel, keeps Tab inside, closes on
    Escape, and gives the focus back to the button that opened it, after a confirmation too."""
    open_services(page, operated)
    for opener_name, title, confirm in DIALOGS:
        opener = page.get_by_role("button", name=opener_name, exact=True)
        opener.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name=title)
        cancel = dialog.get_by_role("button", name="Cancel")
        expect(cancel).to_be_focused()
        page.keyboard.press("Tab")  # Cancel is last: Tab wraps to the first button of the dialog
        expect(dialog.get_by_role("button", name=confirm, exact=True)).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(cancel).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(opener).to_be_focused()

    # Confirmed by keyboard: the focus comes back to the same button (now for the other action).
    rpc = operated.stack.rpc()
    row = page.locator(".services-table tr", has_text="worker:worker_1")
    for action, done, state in (
        ("Stop", "worker:worker_1 stopped.", "STOPPED"),
        ("Start", "worker:worker_1 started", "RUNNING"),
    ):
        opener = page.get_by_role("button", name=f"{action} worker:worker_1", exact=True)
        opener.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name=f"{action} worker:worker_1?")
        expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status").filter(has_text=done)).to_be_visible(timeout=30_000)
        expect(dialog).to_be_hidden()
        expect(row.locator(".badge").first).to_have_text(state, timeout=15_000)
        assert rpc.supervisor.getProcessInfo("worker:worker_1")["statename"] == state
        expect(
            row.get_by_role(
                "button", name=f"{'Start' if action == 'Stop' else 'Stop'} worker:worker_1", exact=True
            )
        ).to_be_focused()

    opener = page.get_by_role("button", name="Restart talker", exact=True)
    opener.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="talker restarted")).to_be_visible(timeout=30_000)
    expect(opener).to_be_focused()
    assert console.unexpected() == []


def test_with_the_api_down_the_page_is_honest(page: Any, console: ConsoleLog, operated: Operated) -> None:
    """The API stopped: one alert, "updated N s ago" growing, rows marked last known with their
    health unknown, every action disabled; a worker stopped on purpose shows grey "Stopped"; axe
    finds nothing serious either. When the API is back, so is the page, by itself."""
    console.allow_http_errors(*API_AWAY_STATUSES)
    console.allow_connection_errors()
    stack = operated.stack
    supervisorctl(stack, "stop", "worker:worker_0")
    try:
        open_services(page, operated)
        worker = page.locator(".services-table tr", has_text="worker:worker_0")
        expect(worker.locator(".badge")).to_have_text(["STOPPED", "Stopped"])
        expect(worker.locator(".badge").nth(1)).to_have_class(re.compile("badge-pending"))
        expect(worker).to_contain_text("stopped on purpose since")
        expect(worker).not_to_contain_text("Unhealthy")
        expect(page.get_by_test_id("services-updated")).to_have_text(
            re.compile(r"^List updated (just now|\d+ s ago)\.$")
        )

        supervisorctl(stack, "stop", "api")
        updated = page.get_by_test_id("services-updated")
        expect(updated).to_have_text(
            re.compile("^Not answering: the list is the last known state"), timeout=30_000
        )
        expect(page.get_by_role("alert")).to_have_count(1)
        expect(page.get_by_role("alert")).to_contain_text("Cannot reach the API.")
        sleeper = page.locator(".services-table tr", has_text="talker")
        expect(sleeper).to_have_attribute("data-stale", "true")
        expect(sleeper.locator(".badge").nth(1)).to_have_text("Unknown")
        expect(sleeper).to_contain_text("(last known)")
        actions = page.get_by_role("button", name=re.compile("^(Start|Stop|Restart)"))
        assert actions.count() > 0
        for i in range(actions.count()):
            expect(actions.nth(i)).to_be_disabled()
        expect(page.get_by_role("status").filter(has_text="supervisord")).to_contain_text("Last known:")
        first = int(re.search(r"(\d+) s ago", updated.inner_text() + " 0 s ago").group(1))  # type: ignore[union-attr]
        wait_until(
            lambda: int(re.search(r"(\d+) s ago", updated.inner_text()).group(1)) >= first + 2,  # type: ignore[union-attr]
            timeout=15,
            message="the age of the list to grow",
        )
        assert run_axe(page) == []
    finally:
        supervisorctl(stack, "start", "api")
        supervisorctl(stack, "start", "worker:worker_0")
    wait_until(lambda: api_healthy(stack), timeout=60, message=lambda: "API back\n" + stack.log_tails())
    expect(page.get_by_test_id("services-updated")).to_have_text(re.compile("^List updated"), timeout=30_000)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("button", name="Restart talker")).to_be_enabled()


def test_every_queue_table_is_on_the_page(page: Any, console: ConsoleLog, operated: Operated) -> None:
    """A team's ``links`` table in the stack's database shows as a row of its own under the
    chart, counted by status next to ``items`` (the API finds it by its columns)."""
    from tests.integration.workers.links import LinksBase, LinksDatabase

    links = LinksDatabase(f"sqlite:///{operated.stack.home / 'var' / 'app.db'}")
    try:
        links.add_links(["https://example.org/1", "https://example.org/2", "https://example.org/3"])
        open_services(page, operated)
        tables = page.get_by_test_id("queue-tables")
        row = tables.locator("tr[data-queue=links]")
        expect(row.locator("td[data-status=pending]")).to_have_text("3", timeout=30_000)
        expect(row.locator("td[data-status=total]")).to_have_text("3")
        expect(tables.locator("tbody tr").first).to_have_attribute("data-queue", "items")
        assert console.unexpected() == []
    finally:
        LinksBase.metadata.drop_all(links.db.engine)
        links.close()


def add_failed_items(operated: Operated, count: int) -> list[int]:
    """Items of user@example.com that failed (as if a bug, since fixed, had failed them): requeued,
    the example worker processes them."""
    from sqlalchemy import insert, select

    from store.db import Database
    from store.models import Item, User

    db = Database(f"sqlite:///{operated.stack.home / 'var' / 'app.db'}")
    try:
        with db.engine.begin() as conn:
            owner = conn.execute(select(User.id).where(User.email == "user@example.com")).scalar_one()
            rows = [
                {
                    "user_id": owner,
                    "title": f"broken {n}",
                    "status": "failed",
                    "attempts": 5,
                    "error": f"boom {n}",
                }
                for n in range(count)
            ]
            return list(conn.execute(insert(Item).returning(Item.id), rows).scalars())
    finally:
        db.dispose()


def item_done(operated: Operated, item_id: int) -> bool:
    r = httpx.get(
        f"{operated.stack.api_url}/api/v1/items/{item_id}", headers=operated.user_headers, timeout=10
    )
    body = r.json()
    return body["status"] == "done" and body["attempts"] == 1 and "result" in body["metadata"]


def test_requeue_failed_items_from_the_page_and_see_it_in_the_audit_log(
    page: Any, console: ConsoleLog, operated: Operated
) -> None:
    """The failed items are listed with their error; requeue one (it leaves the list) and all (after
    a confirmation); a worker processes them; the audit log shows both with the admin's email."""
    ids = add_failed_items(operated, 3)
    open_services(page, operated)
    failed = page.get_by_test_id("failed-items")
    rows = failed.locator("tbody tr")
    expect(rows).to_have_count(3, timeout=30_000)
    expect(failed.locator(f"tr[data-item='{ids[0]}']")).to_contain_text("boom 0")
    expect(rows.first).to_have_attribute("data-item", str(ids[2]))  # newest first

    page.get_by_role("button", name=f"Requeue item {ids[0]}").click()
    expect(failed.locator(f"tr[data-item='{ids[0]}']")).to_have_count(0)
    expect(page.get_by_test_id("failed-outcome")).to_have_text(
        f"Item {ids[0]} of items requeued; 2 still failed."
    )
    wait_until(lambda: item_done(operated, ids[0]), timeout=30, message=f"a worker to process item {ids[0]}")

    requeue_all = page.get_by_role("button", name="Requeue all failed items of items")
    requeue_all.click()
    dialog = page.get_by_role("dialog", name="Requeue all 2 failed items of items?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(2)
    requeue_all.click()
    dialog.get_by_role("button", name="Requeue all").click()
    expect(page.get_by_test_id("failed-outcome")).to_have_text(
        "Requeued 2 items of items; none still failed."
    )
    expect(failed.get_by_text("No failed items in items.")).to_be_visible()
    expect(requeue_all).to_be_disabled()
    wait_until(
        lambda: all(item_done(operated, i) for i in ids[1:]),
        timeout=30,
        message="the workers to process them",
    )

    audit = page.get_by_test_id("audit-log")
    one = audit.locator("tr[data-action='queue.requeue']", has_text=f"item {ids[0]} of items")
    expect(one).to_contain_text("admin@example.com")
    expect(one.locator(".badge")).to_have_text("ok")
    everything = audit.locator("tr[data-action='queue.requeue_all']").first
    expect(everything).to_contain_text("admin@example.com")
    expect(everything).to_contain_text("items (requeued 2, 0 still failed)")
    assert console.unexpected() == []

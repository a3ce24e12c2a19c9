"""GET /api/v1/admin/services against a real supervisord, and the Services page in a browser.

The route runs in the app from create_app, on a real SQLite database, against a small real
supervisord with one healthy and one broken program: in-process for the API checks, under a real
uvicorn server for the browser test. A last browser test boots the whole stack
(tests.support.stack.Stack: supervisord, gunicorn, two workers, Vite) and reads it from the page.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, PASSWORD, login
from tests.e2e.servers import ViteServer
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.stack import Stack
from tests.support.wait import wait_until

VENV_BIN = Path(sys.executable).parent
SERVICES = "/api/v1/admin/services"

SUPERVISORD_CONF = """\
[unix_http_server]
file = %(here)s/supervisor.sock
chmod = 0700
[supervisord]
logfile = %(here)s/supervisord.log
pidfile = %(here)s/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:sleeper]
command = {python} -c "import time; time.sleep(3600)"
startsecs = 0
[program:broken]
command = {python} -c "raise SystemExit(3)"
startsecs = 1
startretries = 0
autorestart = false
"""


def build_app(home: Path, socket: Path, env: dict[str, str] | None = None) -> FastAPI:
    from api.app import create_app
    from config.config import load
    from store.migrate import upgrade

    settings = load(
        {
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "SUPERVISOR_SOCKET": str(socket),
            "SUPERVISOR_CONFIG": str(socket.parent / "supervisord.conf"),  # the small supervisord's own
            "DATABASE_URL": f"sqlite:///{home / 'var' / 'app.db'}",
            **API_TEST_ENV,
            **(env or {}),
        }
    )
    upgrade(settings.DATABASE_URL)
    return create_app(settings)


@pytest.fixture(scope="module")
def supervisord(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real supervisord with a healthy `sleeper` and a `broken` program; yields its socket."""
    home = tmp_path_factory.mktemp("mini-supervisord")
    conf = home / "supervisord.conf"
    conf.write_text(SUPERVISORD_CONF.format(python=sys.executable))
    socket = home / "supervisor.sock"
    subprocess.run([str(VENV_BIN / "supervisord"), "-c", str(conf)], cwd=home, check=True, timeout=30)
    from ops.errors import OpsError
    from ops.rpc import SupervisorClient

    client = SupervisorClient(str(socket), timeout=10)
    try:

        def states() -> dict[str, str]:
            return {p["name"]: p["statename"] for p in client.call("supervisor.getAllProcessInfo")}

        wait_until(
            lambda: states() == {"sleeper": "RUNNING", "broken": "FATAL"},
            timeout=30,
            message="sleeper RUNNING, broken FATAL",
        )
        yield socket
    finally:
        try:
            client.call("supervisor.shutdown")
        except OpsError:
            pass  # already gone
        wait_until(
            lambda: not processes_mentioning(str(home)),
            timeout=30,
            message=lambda: f"supervisord to exit: {processes_mentioning(str(home))}",
        )


def bearer(client: TestClient, email: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def make_users(app: FastAPI) -> None:
    from store.accounts import create_user as create

    with app.state.db.session() as session:
        create(session, email="admin@example.com", password=PASSWORD, is_admin=True)
        create(session, email="user@example.com", password=PASSWORD)


def test_admin_sees_programs_and_their_health(supervisord: Path, tmp_path: Path) -> None:
    app = build_app(tmp_path, supervisord)
    make_users(app)
    with TestClient(app) as client:
        r = client.get(SERVICES, headers=bearer(client, "admin@example.com"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["supervisord"] == "RUNNING"
    assert body["healthy"] is False  # one program is broken
    programs = {p["name"]: p for p in body["programs"]}
    assert programs["sleeper"]["state"] == "RUNNING" and programs["sleeper"]["healthy"] is True
    assert programs["sleeper"]["pid"] > 0
    assert programs["broken"]["state"] == "FATAL" and programs["broken"]["healthy"] is False
    assert programs["broken"]["problem"]


def test_services_are_for_admins_only(supervisord: Path, tmp_path: Path) -> None:
    app = build_app(tmp_path, supervisord)
    make_users(app)
    with TestClient(app) as client:
        assert client.get(SERVICES).status_code == 401
        r = client.get(SERVICES, headers=bearer(client, "user@example.com"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def restart_url(name: str) -> str:
    return f"{SERVICES}/{name}/restart"


def sleeper_pid(socket: Path) -> int:
    from ops.rpc import SupervisorClient

    return int(SupervisorClient(str(socket), timeout=10).call("supervisor.getProcessInfo", "sleeper")["pid"])


def test_admin_restarts_a_program_and_gets_its_new_status(supervisord: Path, tmp_path: Path) -> None:
    app = build_app(tmp_path, supervisord)
    make_users(app)
    before = sleeper_pid(supervisord)
    with TestClient(app) as client:
        r = client.post(restart_url("sleeper"), headers=bearer(client, "admin@example.com"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "sleeper" and body["state"] == "RUNNING" and body["healthy"] is True
    assert body["pid"] != before
    assert body["pid"] == sleeper_pid(supervisord)


def test_restarting_a_broken_program_answers_with_why_it_is_down(supervisord: Path, tmp_path: Path) -> None:
    app = build_app(tmp_path, supervisord)
    make_users(app)
    with TestClient(app) as client:
        r = client.post(restart_url("broken"), headers=bearer(client, "admin@example.com"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "FATAL" and r.json()["healthy"] is False and r.json()["problem"]


def test_restart_is_for_admins_and_known_programs_only(supervisord: Path, tmp_path: Path) -> None:
    app = build_app(tmp_path, supervisord)
    make_users(app)
    before = sleeper_pid(supervisord)
    with TestClient(app) as client:
        assert client.post(restart_url("sleeper")).status_code == 401
        r = client.post(restart_url("sleeper"), headers=bearer(client, "user@example.com"))
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
        r = client.post(restart_url("nope"), headers=bearer(client, "admin@example.com"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert r.json()["error"]["message"].startswith("no program named 'nope'")
    assert sleeper_pid(supervisord) == before


def test_start_stop_and_restart_are_in_the_audit_log_with_their_outcome(
    supervisord: Path, tmp_path: Path
) -> None:
    """Each action recorded with who, what, when and how it went: a restart that leaves the program
    FATAL, an unknown program and a supervisord that cannot be reached are failed entries."""
    app = build_app(tmp_path, supervisord)
    make_users(app)
    with TestClient(app) as client:
        admin = bearer(client, "admin@example.com")
        for path, status in (
            (f"{SERVICES}/sleeper/stop", 200),
            (f"{SERVICES}/sleeper/start", 200),
            (restart_url("sleeper"), 200),
            (restart_url("broken"), 200),  # answered with its state: FATAL
            (restart_url("nope"), 404),
        ):
            assert client.post(path, headers=admin).status_code == status, path
        entries = client.get("/api/v1/admin/audit", headers=admin).json()["items"][::-1]
    assert [(e["action"], e["target"], e["outcome"]) for e in entries] == [
        ("service.stop", "sleeper", "ok"),
        ("service.start", "sleeper", "ok"),
        ("service.restart", "sleeper", "ok"),
        ("service.restart", "broken", "failed"),
        ("service.restart", "nope", "failed"),
    ]
    assert {(e["actor"], e["via"]) for e in entries} == {("admin@example.com", "api")}
    assert entries[3]["error"].startswith("FATAL, not healthy")
    assert entries[4]["error"].startswith("no program named 'nope'")

    down = build_app(tmp_path / "down", tmp_path / "var" / "run" / "no-such.sock")
    make_users(down)
    with TestClient(down) as client:
        admin = bearer(client, "admin@example.com")
        assert client.post(restart_url("sleeper"), headers=admin).status_code == 503
        [entry] = client.get("/api/v1/admin/audit", headers=admin).json()["items"]
    assert entry["outcome"] == "failed" and entry["error"].startswith("supervisord unreachable")


def test_the_api_does_not_restart_the_process_serving_the_request() -> None:
    import os

    from api.routes.admin import _serves_this_request

    assert _serves_this_request(os.getpid()) and _serves_this_request(os.getppid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not _serves_this_request(child.pid)
    finally:
        child.kill()
        child.wait(timeout=10)


def test_restart_when_supervisord_is_down_is_a_clear_503(tmp_path: Path) -> None:
    app = build_app(tmp_path, tmp_path / "var" / "run" / "no-such.sock")
    make_users(app)
    with TestClient(app) as client:
        r = client.post(restart_url("sleeper"), headers=bearer(client, "admin@example.com"))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "unavailable"
    assert r.json()["error"]["message"].startswith("supervisord unreachable: supervisord is not running")


def test_supervisord_unreachable_is_a_clear_503(tmp_path: Path) -> None:
    app = build_app(tmp_path, tmp_path / "var" / "run" / "no-such.sock")
    make_users(app)
    with TestClient(app) as client:
        r = client.get(SERVICES, headers=bearer(client, "admin@example.com"))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "unavailable"
    assert r.json()["error"]["message"].startswith("supervisord unreachable: supervisord is not running")


@pytest.fixture(scope="module")
def services_frontend(
    browser: Any, supervisord: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app under uvicorn on a free port (its supervisord is the small one), and Vite before it."""
    import uvicorn

    home = tmp_path_factory.mktemp("services-api")
    app = build_app(home, supervisord)
    make_users(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="services-api", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, message="uvicorn to start")
        with ViteServer(api_url=f"http://127.0.0.1:{port}", log_dir=home) as vite:
            yield vite.url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.db.engine.dispose()
        wait_until(lambda: port_is_free(port), timeout=15, message=f"port {port} to be free")


@pytest.mark.browser
def test_admin_services_page_lists_programs_and_health(page: Any, services_frontend: str) -> None:
    login(page, services_frontend, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    expect(page.get_by_role("heading", name="Services")).to_be_focused()
    sleeper = page.locator(".services-table tr", has_text="sleeper")
    broken = page.locator(".services-table tr", has_text="broken")
    expect(sleeper.locator(".badge")).to_have_text(["RUNNING", "Healthy"])
    expect(broken.locator(".badge")).to_have_text(["FATAL", "Unhealthy"])
    expect(page.get_by_role("status").filter(has_text="supervisord")).to_have_text(
        "supervisord RUNNING: 1 program(s) need attention"
    )


@pytest.mark.browser
def test_admin_restarts_a_program_after_confirming(
    page: Any, services_frontend: str, supervisord: Path
) -> None:
    login(page, services_frontend, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    before = sleeper_pid(supervisord)
    sleeper = page.locator(".services-table tr", has_text="sleeper")
    expect(sleeper.locator("td[data-label=PID]")).to_have_text(str(before))
    restart = page.get_by_role("button", name="Restart sleeper")

    restart.click()
    dialog = page.get_by_role("dialog", name="Restart sleeper?")
    expect(dialog).to_contain_text("Requests in flight may fail.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(restart).to_be_focused()
    assert sleeper_pid(supervisord) == before

    restart.click()
    dialog.get_by_role("button", name="Restart").click()
    result = page.get_by_role("status").filter(has_text="sleeper restarted")
    expect(result).to_have_text(re.compile(r"sleeper restarted: RUNNING, pid \d+, healthy\."), timeout=30_000)
    after = sleeper_pid(supervisord)
    assert after != before
    expect(result).to_have_text(f"sleeper restarted: RUNNING, pid {after}, healthy.")
    expect(sleeper.locator("td[data-label=PID]")).to_have_text(str(after))
    expect(dialog).to_be_hidden()


@pytest.mark.browser
@pytest.mark.stack
def test_admin_services_page_shows_the_real_stack(page: Any, tmp_path: Path) -> None:
    with Stack(tmp_path, env=API_TEST_ENV) as stack:
        stack.wait_running()
        wait_until(
            lambda: httpx.get(stack.api_url + "/health", timeout=2).status_code == 200,
            timeout=60,
            message="API healthy",
        )
        from store.accounts import create_user
        from store.db import Database

        db = Database(f"sqlite:///{tmp_path / 'var' / 'app.db'}")  # the Stack's API database
        try:
            with db.session() as session:
                create_user(session, email="admin@example.com", password=PASSWORD, is_admin=True)
        finally:
            db.engine.dispose()
        login(page, stack.frontend_url, "admin@example.com")
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
        token = httpx.post(
            stack.api_url + "/api/v1/auth/login",
            timeout=10,
            json={"email": "admin@example.com", "password": PASSWORD},
        ).json()["access_token"]
        r = httpx.post(
            f"{stack.api_url}{SERVICES}/api/restart", timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 202, r.text
        assert r.json()["name"] == "api" and r.json()["pid"] == before

        def api_back() -> bool:
            try:
                healthy = httpx.get(stack.api_url + "/health", timeout=2).status_code == 200
                return api_pid() != before and healthy
            except httpx.HTTPError:
                return False

        wait_until(
            api_back, timeout=90, message=lambda: "the API restarted and healthy\n" + stack.log_tails()
        )

"""GET /api/v1/admin/services against a real supervisord, and the Services page in a browser.

The route runs in the app from create_app, on a real SQLite database, against a small real
supervisord with one healthy and one broken program: in-process for the API checks, under a real
uvicorn server for the browser test; the browser gets the production build (`vite preview`,
Vite's proxy in front of the API). The page on the whole stack (supervisord, gunicorn, two workers,
Vite) is tests/e2e/test_operator_view.py's, on the stack that module boots.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, PASSWORD, login
from tests.e2e.servers import ViteServer
from tests.support.inet_supervisord import CHATTY, SLEEP, HangingPort, InetSupervisord
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
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


@dataclass
class ServicesStack:
    """The page's servers: Vite before the app, the app's database, and the hosts it is given."""

    url: str
    database_url: str
    remote: InetSupervisord
    hanging: HangingPort


@pytest.fixture(scope="module")
def services_stack(
    browser: Any, supervisord: Path, frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServicesStack]:
    """The app under uvicorn on a free port (its supervisord is the small one), and Vite before it.
    SUPERVISOR_SERVERS: this supervisord's socket, a second supervisord on a TCP port (listed twice),
    the same one with a wrong password, and a port that never answers."""
    import uvicorn

    home = tmp_path_factory.mktemp("services-api")
    with (
        InetSupervisord(home / "remote", {"echo": SLEEP, "chatty": CHATTY}) as remote,
        HangingPort() as hanging,
    ):
        servers = [
            f"unix://{supervisord}",
            remote.url,
            f"http://127.0.0.1:{remote.port}",
            f"http://ops:wrong@localhost:{remote.port}",
            hanging.url,
        ]
        app = build_app(
            home,
            supervisord,
            env={
                "SUPERVISOR_SERVERS": ",".join(servers),
                "SUPERVISOR_HOST_TIMEOUT": "1",
                "API_LOG_DOWNLOAD_MAX_BYTES": "4096",
            },
        )
        make_users(app)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, name="services-api", daemon=True)
        thread.start()
        try:
            wait_until(lambda: server.started, timeout=30, message="uvicorn to start")
            api_url = f"http://127.0.0.1:{port}"
            with ViteServer(api_url=api_url, log_dir=home, mode="preview", dist=frontend_dist) as vite:
                yield ServicesStack(vite.url, str(app.state.db.engine.url), remote, hanging)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            app.state.db.engine.dispose()
            wait_until(lambda: port_is_free(port), timeout=15, message=f"port {port} to be free")


@pytest.fixture(scope="module")
def services_frontend(services_stack: ServicesStack) -> str:
    return services_stack.url


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
def test_other_hosts_are_shown_by_host_and_acted_on_there(page: Any, services_stack: ServicesStack) -> None:
    """Every host on the page (the repeated one once, the wrong password and the hang as
    unreachable, none holding the others); a restart on the remote host after confirming; its log
    followed, searched and downloaded."""
    remote, hanging = services_stack.remote, services_stack.hanging
    login(page, services_stack.url, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    second = page.get_by_role("region", name=f"Host {remote.label}")
    expect(second.locator("tbody tr")).to_have_count(2, timeout=20_000)
    expect(second.get_by_test_id("host-state")).to_have_text("supervisord RUNNING: all programs healthy")
    expect(
        page.get_by_role("region", name=f"Host localhost:{remote.port}").get_by_test_id("host-state")
    ).to_contain_text("Unreachable: supervisord at http://localhost")
    expect(
        page.get_by_role("region", name=f"Host {hanging.label}").get_by_test_id("host-state")
    ).to_have_text(f"Unreachable: supervisord did not answer within 1s ({hanging.url})")
    expect(page.get_by_test_id("hosts-repeated")).to_contain_text(remote.label)
    expect(page.locator(".services-table tr", has_text="sleeper").locator(".badge").first).to_have_text(
        "RUNNING"
    )

    before = remote.pid("echo")
    page.get_by_role("button", name=f"Restart echo on {remote.label}").click()
    page.get_by_role("dialog", name=f"Restart echo on {remote.label}?").get_by_role(
        "button", name="Restart"
    ).click()
    result = page.get_by_role("status").filter(has_text="echo on")
    expect(result).to_have_text(
        re.compile(rf"echo on {re.escape(remote.label)} restarted: RUNNING, pid \d+, healthy\."),
        timeout=30_000,
    )
    assert remote.pid("echo") != before
    expect(second.locator("tr", has_text="echo").locator("td[data-label=PID]")).to_have_text(
        str(remote.pid("echo"))
    )

    page.get_by_role("button", name=f"Log of chatty on {remote.label}").click()
    viewer = page.get_by_role("region", name=f"Log of chatty on {remote.label}")
    lines = viewer.get_by_test_id("log-lines")
    expect(lines.locator(".log-line", has_text="tick").first).to_be_visible(timeout=15_000)
    # Its last 200 lines are loaded (boot lines first, ticks after, as long as it has run): the
    # search keeps the ticks only.
    viewer.get_by_label("Search loaded lines").fill("TICK")
    expect(viewer.get_by_test_id("log-matches")).to_have_text(re.compile(r"^\d+ of \d+ lines match$"))
    expect(lines.locator(".log-line").first).to_contain_text("tick")
    expect(lines.locator(".log-line").filter(has_not_text="tick")).to_have_count(0)
    with page.expect_download() as downloaded:
        viewer.get_by_role("button", name="Download").click()
    assert downloaded.value.suggested_filename == "chatty.log"
    content = Path(downloaded.value.path()).read_bytes()
    assert 0 < len(content) <= 4096 and b"remote" in content
    expect(viewer.get_by_test_id("log-download")).to_contain_text("Downloaded the last")


@pytest.mark.browser
def test_the_queue_chart_draws_the_servers_history_after_a_reload(
    page: Any, services_stack: ServicesStack
) -> None:
    from sqlalchemy import create_engine, insert

    from store.models import QueueSample

    now = int(time.time())
    engine = create_engine(services_stack.database_url)
    try:
        with engine.begin() as conn:  # the last 30 minutes, one sample a minute, as the sampler writes
            conn.execute(
                insert(QueueSample),
                [
                    {
                        "at": now - m * 60,
                        "queue": "items",
                        "pending": 40 - m,
                        "processing": 2,
                        "done": 1_000 - 5 * m,
                        "failed": 3,
                    }
                    for m in range(30)
                ],
            )
    finally:
        engine.dispose()
    login(page, services_stack.url, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    summary = page.get_by_test_id("queue-history-summary")
    expect(summary).to_contain_text("30 points", timeout=20_000)
    expect(summary).to_contain_text("last: 40 pending, 2 in flight, 5 done/min.")
    legend = page.locator(".queue-chart .u-legend")
    expect(legend).to_contain_text("pending")
    for label in ("in flight", "done/min", "failed/min"):
        expect(legend).to_contain_text(label)
    assert "--" not in legend.inner_text()

    page.reload()
    expect(page.get_by_test_id("queue-history-summary")).to_contain_text("30 points")
    page.get_by_label("Span").select_option(label="7 days")
    expect(page.get_by_test_id("queue-history-summary")).to_contain_text("one per 1681 s")

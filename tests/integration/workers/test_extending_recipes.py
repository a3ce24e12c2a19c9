"""docs/extending.md, "Write your own worker": every recipe's code carried out as written.

The recipes are written into a temporary project (``src/myapp/...``, ``conf/...``) beside this
repository's virtualenv; the three workers run by ``python -m workers run MODULE:CLASS --once`` on
SQLite, supervisord runs the program file (its health port from the project's ``.env``) until the
worker is ready, and the Deployment is validated against the schema.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from config.config import load, worker_stop_problems
from config.programs import fill, program_processes
from store.models import ItemStatus
from tests.integration.workers.support import REPO, ItemsDatabase
from tests.support import plain_http
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.wait import wait_until

GUIDE = REPO / "docs" / "extending.md"
RECIPE = re.compile(r"<!-- recipe: (?P<path>\S+) -->\n```\w+\n(?P<code>.*?)```", re.DOTALL)
SUPERVISORD_CONF = """\
[unix_http_server]
file = %(here)s/var/run/supervisor.sock
chmod = 0700

[supervisord]
childlogdir = %(here)s/logs
logfile = %(here)s/logs/supervisord.log
pidfile = %(here)s/var/run/supervisord.pid
nodaemon = true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[include]
files = conf/supervisord.d/*.conf
"""


def recipes() -> dict[str, str]:
    found = {m["path"]: m["code"] for m in RECIPE.finditer(GUIDE.read_text())}
    assert set(found) == {
        "src/myapp/shouter.py",
        "src/myapp/links.py",
        "src/myapp/inbox.py",
        "conf/supervisord.d/shouter.conf",
        "conf/k8s/shouter-deployment.yaml",
        "conf/supervisord.d/reports.conf",  # "Add a supervised program": tests/integration/ops
    }
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for relative, code in recipes().items():
        if relative == "conf/supervisord.d/reports.conf":
            continue  # another section's program, carried out by its own test
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    (root / "src" / "myapp" / "__init__.py").write_text("")
    (root / "var" / "run").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / ".venv").symlink_to(REPO / ".venv")  # what %(here)s/../../.venv/bin/python finds
    return root


def env_for(project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "APP_HOME": str(project),
        "APP_ENV": "test",
        "DATABASE_URL": f"sqlite:///{project / 'var' / 'app.db'}",
    }


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args], cwd=project, env=env_for(project), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_the_item_worker_recipe(project: Path) -> None:
    db = ItemsDatabase.create(env_for(project)["DATABASE_URL"])
    try:
        db.add_items(2, title="hello", metadata={"kept": 1})
        [forbidden] = db.add_items(1, title="forbidden")
        assert run(project, "-m", "workers", "run", "myapp.shouter:Shouter", "--help").stdout.startswith(
            "usage: python -m workers run myapp.shouter:Shouter"
        )
        run(project, "-m", "workers", "run", "myapp.shouter:Shouter", "--once")
        items = {item.id: item for item in db.items()}
    finally:
        db.close()
    shouted = [item for item in items.values() if item.id != forbidden]
    assert [item.title for item in shouted] == ["HELLO 0", "HELLO 1"]
    assert all(
        item.status == ItemStatus.DONE and item.metadata_ == {"kept": 1, "shouted": True} for item in shouted
    )
    assert items[forbidden].status == ItemStatus.PENDING  # raised: back in the queue for a retry
    assert items[forbidden].error == "ValueError: will not shout that"


def test_the_own_table_recipe(project: Path, tmp_path: Path) -> None:
    url = env_for(project)["DATABASE_URL"]
    # The table as its migration would make it (created in a child process, so this test
    # process's models never learn of it).
    create = "from myapp.links import Link; from store.db import Database; "
    run(project, "-c", create + f"Link.__table__.create(Database({url!r}).engine)")
    site = tmp_path / "site"
    site.mkdir()
    (site / "here.html").write_text("hello")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = create_engine(url)
    try:
        wait_until(lambda: not port_is_free(port), timeout=10, message="http.server listening")
        sql = re.search(r"```sql\n(?P<sql>.*?)```", GUIDE.read_text(), re.DOTALL)
        assert sql is not None and "INSERT INTO links (url)" in sql["sql"]
        with engine.begin() as conn:  # the guide's plain INSERT, then two more like it
            conn.execute(
                text(sql["sql"].replace("https://example.org/", f"http://127.0.0.1:{port}/here.html"))
            )
            conn.execute(text(f"INSERT INTO links (url) VALUES ('http://127.0.0.1:{port}/gone')"))
            conn.execute(text("INSERT INTO links (url) VALUES ('ftp://example.org/')"))
        run(project, "-m", "workers", "run", "myapp.links:LinkChecker", "--once")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT status, status_code, checked_at IS NOT NULL, attempts, error "
                    "FROM links ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
        server.terminate()
        server.wait(timeout=10)
    assert [tuple(row) for row in rows] == [
        (ItemStatus.DONE, 200, 1, 1, None),
        (ItemStatus.DONE, 404, 1, 1, None),
        (ItemStatus.FAILED, None, 0, 1, "not an http(s) URL: ftp://example.org/"),  # PermanentError
    ]


def test_the_trigger_snippet_runs_in_a_migration_on_both_backends(database_url: str) -> None:
    """The guide's snippet as written, in an Alembic migration context: on PostgreSQL it creates
    the trigger (a pending row then NOTIFYs ``links_pending``) and drops it; on SQLite it does
    nothing, and breaks nothing."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    snippet = re.search(
        r"<!-- recipe-migration: links -->\n```python\n(?P<code>.*?)```", GUIDE.read_text(), re.DOTALL
    )
    assert snippet is not None
    upgrade, downgrade = snippet["code"].split("\nfor statement in drop_notify_trigger_sql")
    downgrade = (
        "from store.item_store import drop_notify_trigger_sql\nfor statement in drop_notify_trigger_sql"
        + downgrade
    )
    engine = create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE links (id INTEGER PRIMARY KEY, status VARCHAR(16))"))
            exec(upgrade, {"op": Operations(MigrationContext.configure(conn))})
        with engine.connect() as conn:
            triggers = "SELECT count(*) FROM pg_trigger WHERE tgname = 'links_notify_pending'"
            if postgres:
                assert conn.execute(text(triggers)).scalar_one() == 1
                conn.execute(text("LISTEN links_pending"))
                conn.commit()
                conn.execute(text("INSERT INTO links (id, status) VALUES (1, 'pending')"))
                conn.commit()
                raw = conn.connection.driver_connection
                assert raw is not None
                assert [n.channel for n in raw.notifies(timeout=5, stop_after=1)] == ["links_pending"]
        with engine.begin() as conn:
            exec(downgrade, {"op": Operations(MigrationContext.configure(conn))})
            if postgres:
                assert conn.execute(text(triggers)).scalar_one() == 0
    finally:
        engine.dispose()


def test_the_base_worker_recipe(project: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text("one\ntwo\nthree\n")
    (inbox / "b.txt").write_text("just one\n")
    run(project, "-m", "workers", "run", "myapp.inbox:InboxWorker", "--once", "--inbox", str(inbox))
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["a.3-lines.txt", "b.1-lines.txt"]
    assert not list(inbox.glob("*.txt"))


def test_the_supervisord_recipe_runs_the_worker_until_ready(project: Path) -> None:
    conf = project / "conf" / "supervisord.d" / "shouter.conf"
    assert len([line for line in conf.read_text().splitlines() if line.strip()]) <= 8
    assert worker_stop_problems(load(environ={}), conf) == []
    port = free_port()
    # The health port follows .env: WORKER_HEALTH_PORT + the process number (numprocs_start 100).
    (project / ".env").write_text(f"WORKER_HEALTH_PORT={port - 100}\n")
    (project / "supervisord.conf").write_text(SUPERVISORD_CONF)
    settings = load(environ=env_for(project))
    [process] = program_processes(project / "supervisord.conf")
    assert process.name == "shouter_100"
    assert fill(process.options["health_check"], process, settings) == f"http://127.0.0.1:{port}/health"
    ItemsDatabase.create(env_for(project)["DATABASE_URL"]).close()
    supervisord = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "supervisord"), "-c", str(project / "supervisord.conf")],
        cwd=project,
        env=env_for(project),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def log_text() -> str:  # supervisord's own log file for the program (childlogdir)
        return "".join(p.read_text() for p in (project / "logs").glob("shouter_100-std*.log"))

    try:
        wait_until(
            lambda: _ready(port),
            timeout=60,
            message=lambda: f"shouter_100 ready on {port}; log:\n{log_text() or '(none)'}",
        )
    finally:
        supervisord.send_signal(signal.SIGTERM)
        supervisord.wait(timeout=30)
    wait_until(lambda: port_is_free(port), timeout=10, message=f"port {port} free")
    assert processes_mentioning(str(project)) == []
    assert "warm stop on SIGTERM" in log_text()


def _ready(port: int) -> bool:
    try:
        return plain_http.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_kubernetes_recipe_validates(project: Path) -> None:
    validate = shutil.which("kubernetes-validate", path=str(REPO / ".venv" / "bin")) or "kubernetes-validate"
    manifest = project / "conf" / "k8s" / "shouter-deployment.yaml"
    result = subprocess.run(
        [validate, "--strict", "--quiet", str(manifest)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr

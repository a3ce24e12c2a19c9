"""docs/troubleshooting.md tells the truth: each error it shows is produced here, in a throwaway
stack home, and its message (paths aside) is found on the page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "troubleshooting.md"


def run(home: Path, *argv: str, env: dict[str, str] | None = None) -> str:
    # A home run with the repository's supervisord.conf (its workers.conf is compared, for one).
    config = str(REPO / "supervisord.conf")
    full_env = {
        **os.environ,
        "APP_HOME": str(home),
        "SUPERVISOR_CONFIG": config,
        "APP_ENV": "test",
        **(env or {}),
    }
    result = subprocess.run(argv, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def ctl(home: Path, *args: str) -> str:
    return run(home, sys.executable, "-m", "cli.ctl", *args)


def no_supervisord(home: Path) -> str:
    return run(home, sys.executable, str(REPO / "bin" / "monitor.py"))


def no_schema(home: Path) -> str:
    return ctl(home, "users", "list")


def revision_behind(home: Path) -> str:
    # A database at an old revision: autogenerate refuses before it writes anything.
    url = f"sqlite:///{home / 'var' / 'app.db'}"
    (home / "var").mkdir(exist_ok=True)
    from store.migrate import upgrade

    upgrade(url, "0001")
    return run(
        home,
        sys.executable,
        "-m",
        "cli.ctl",
        "db",
        "revision",
        "-m",
        "x",
        "--autogenerate",
        env={"DATABASE_URL": url},
    )


def bad_email(home: Path) -> str:
    ctl(home, "db", "upgrade")
    return ctl(home, "users", "create", "--email", "ann", "--password", "long enough password")


def static_dir_without_app(home: Path) -> str:
    code = "from api.app import create_app; from config.config import load; create_app(load())"
    return run(home, sys.executable, "-c", code, env={"STATIC_DIR": str(home)})


def unknown_program(_home: Path) -> str:
    from ops.errors import UnknownProgram

    return f"monitor.py: {UnknownProgram('wrker', ['api', 'frontend', 'healthcheck', 'worker'])}"


def config_check(home: Path, **env: str) -> str:
    return run(home, sys.executable, "-m", "config", "check", env=env)


def production_default_secret(home: Path) -> str:
    return config_check(home, APP_ENV="production")


def production_repetitive_secret(home: Path) -> str:
    return config_check(home, APP_ENV="production", JWT_SECRET="a" * 40)


def app_env_typo(home: Path) -> str:
    return config_check(home, APP_ENV="Production")


def worker_stop_timeout(home: Path) -> str:
    return config_check(home, WORKER_STOP_TIMEOUT="45")


def port_taken(home: Path) -> str:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        gunicorn = Path(sys.executable).with_name("gunicorn")
        conf = REPO / "conf" / "gunicorn.conf.py"
        out = run(home, str(gunicorn), "-c", str(conf), "api.app:app", env={"API_PORT": str(port)})
    return out.replace(str(port), "8001")


DATABASE_DOWN = """
from fastapi.testclient import TestClient
from api.app import create_app
from config.config import load
with TestClient(create_app(load())) as client:
    print(client.get("/api/v1/items", headers={"X-API-Key": "sk_x_y"}).text)
"""


def database_down(home: Path) -> str:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    url = f"postgresql+psycopg://app@127.0.0.1:{port}/app"
    return run(home, sys.executable, "-c", DATABASE_DOWN, env={"DATABASE_URL": url})


SCENARIOS: dict[str, Callable[[Path], str]] = {
    "JWT_SECRET is missing or the development default": production_default_secret,
    "distinct characters: APP_ENV=production needs at least": production_repetitive_secret,
    "must be one of development, test, production": app_env_typo,
    "is not well under stopwaitsecs": worker_stop_timeout,
    "Address already in use": port_taken,
    "the database is unavailable": database_down,
    "no program named": unknown_program,
    "supervisord is not running": no_supervisord,
    "the database has no schema yet": no_schema,
    "no revision made: Target database is not up to date.": revision_behind,
    "not a valid email address": bad_email,
    "no index.html there": static_dir_without_app,
}


def shown_lines() -> list[str]:
    """The first line of every code block on the page."""
    return [m.group(1).strip() for m in re.finditer(r"^```\n(.+?)\n", PAGE.read_text(), re.M)]


def normalise(text: str) -> str:
    """Paths, names and request ids that differ per machine or run become placeholders."""
    text = re.sub(r"(/[\w.\-]+)+", "/PATH", text)
    text = re.sub(r"\b[0-9a-f]{32}\b", "REQUEST_ID", text)  # a new X-Request-ID each time
    return re.sub(r"'[^']*'", "'X'", text)


@pytest.mark.parametrize("key", SCENARIOS)
def test_the_page_shows_the_real_message(key: str, tmp_path: Path) -> None:
    output = SCENARIOS[key](tmp_path)
    produced = [normalise(line) for line in output.splitlines() if key in line]
    assert produced, f"no line with {key!r} in:\n{output}"
    documented = [normalise(line) for line in shown_lines() if key in line]
    assert documented, f"docs/troubleshooting.md shows no message with {key!r}"
    assert any(documented[0] in line for line in produced), f"page: {documented[0]!r}\nreal: {produced}"

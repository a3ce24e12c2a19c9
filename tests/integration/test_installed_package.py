"""The project installed as a package (``pip install .``, not editable) into a fresh virtual
environment outside the repository, run from a stack home outside the source tree.

Nothing may be found relative to the source tree: the migrations are package data, the home (the
working directory here, APP_HOME unset) holds .env, var/ and logs/, and supervisor-related commands
in a home without supervisord.conf say so in one line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import plain_http
from tests.support.net import free_port
from tests.support.processes import stop_process_group
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


def copy_of_the_project(target: Path) -> Path:
    """What a release holds (the Dockerfile's COPY lines): no node_modules, no build of the app."""
    target.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    skip = shutil.ignore_patterns("frontend", "__pycache__", "*.egg-info", "node_modules")
    shutil.copytree(REPO / "src", target / "src", ignore=skip)
    return target


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("installed")
    source = copy_of_the_project(base / "release")
    target = base / "venv"
    # No pip of its own (ensurepip's copy costs seconds of CPU and nothing here runs pip again):
    # this suite's pip installs into it (--python), what `pip install .` in it would install.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True, timeout=120)
    python = str(target / "bin" / "python")
    pip = subprocess.run(
        # --no-compile: no bytecode for the ~60 packages (a fifth of the install's CPU); imports
        # work the same without it.
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return target


def home_env(venv: Path, **extra: str) -> dict[str, str]:
    # No APP_HOME and nothing of this checkout: the working directory is the home.
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TZ")}
    return {**keep, "PATH": f"{venv / 'bin'}:/usr/bin:/bin", **extra}


def run(venv: Path, home: Path, *argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=home, env=home_env(venv, **extra), capture_output=True, text=True, timeout=120
    )


def test_the_package_is_installed_not_linked_to_the_checkout(venv: Path, tmp_path: Path) -> None:
    code = "import config.config, store.migrate; print(config.config.__file__, store.migrate.MIGRATIONS_DIR)"
    found = run(venv, tmp_path, "python", "-c", code)
    assert found.returncode == 0, found.stderr
    assert str(REPO) not in found.stdout and str(venv) in found.stdout


def test_db_users_api_and_a_worker_run_from_a_home_outside_the_source_tree(
    venv: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    upgrade = run(venv, home, "ctl", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert (home / "var" / "app.db").is_file(), "the database lives in the home's var/"

    created = run(venv, home, "ctl", "users", "create", "--email", "ops@example.com", CTL_PASSWORD="pw-" * 4)
    assert created.returncode == 0, created.stderr

    # The API, with the gunicorn settings the home holds (as the image's /app/conf does).
    (home / "conf").mkdir()
    shutil.copy2(REPO / "conf" / "gunicorn.conf.py", home / "conf" / "gunicorn.conf.py")
    port = free_port()
    log = (home / "api.log").open("wb")
    api = subprocess.Popen(
        ["gunicorn", "-c", "conf/gunicorn.conf.py", "api.app:app"],
        cwd=home,
        env=home_env(venv, API_PORT=str(port), API_WORKERS="1"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: plain_http.get(url + "/health", timeout=2).status_code == 200,
            timeout=90,
            message=lambda: f"the installed API's /health\n{(home / 'api.log').read_text()[-2000:]}",
        )
        with plain_http.client(base_url=url, timeout=30) as client:
            token = client.post(
                "/api/v1/auth/login", json={"email": "ops@example.com", "password": "pw-" * 4}
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            ids = [client.post("/api/v1/items", json={"title": f"item {n}"}).json()["id"] for n in range(3)]
    finally:
        stop_process_group(api, port=port)
        log.close()

    worker = run(venv, home, "python", "-m", "workers.example_worker", "--once")
    assert worker.returncode == 0, worker.stdout + worker.stderr
    with sqlite3.connect(home / "var" / "app.db") as db:
        rows = db.execute(f"SELECT status FROM items WHERE id IN ({','.join('?' * len(ids))})", ids)
        assert sorted(status for (status,) in rows) == ["done"] * 3


def test_supervisor_commands_in_a_home_without_conf_say_so_in_one_line(venv: Path, tmp_path: Path) -> None:
    for argv in (["ctl", "stop", "all"], ["ctl", "start"], ["ctl", "status"]):
        result = run(venv, tmp_path, *argv)
        assert result.returncode == 2, (argv, result.stderr)
        error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert error == [
            f"Error: {tmp_path / 'supervisord.conf'} does not exist: APP_HOME={tmp_path} holds no "
            "supervisord.conf and conf/ (run from the stack's home, or set APP_HOME or SUPERVISOR_CONFIG)"
        ], (argv, result.stderr)
        assert "Traceback" not in result.stderr

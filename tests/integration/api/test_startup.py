"""APP_ENV=production refuses to start on unsafe settings, with one clear line: a missing, default or
short JWT secret, debug logging (unless forced), and an APP_ENV that is not exactly one we know."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, pool

from config.config import DEFAULT_JWT_SECRET
from tests.integration.api.conftest import backend_database
from tests.support import plain_http
from tests.support.api_server import REPO, VENV_BIN, ApiServer, stand_in_built_app
from tests.support.net import port_is_free

STRONG = "0123456789abcdefghijklmnopqrstuv"  # the shortest secret production accepts: 32 bytes


def refused_start(tmp_path: Path, env: dict[str, str], database_url: str | None = None) -> str:
    """Start gunicorn, expect it to stop by itself (non-zero), return its output."""
    server = ApiServer(tmp_path, database_url=database_url, env=env)
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", str(REPO / "conf" / "gunicorn.conf.py"), "api.app:app"],
        cwd=tmp_path,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    log = output.decode(errors="replace")
    assert process.returncode != 0, log
    assert "Traceback" not in log
    assert port_is_free(server.port)
    return log


@pytest.mark.parametrize("secret", ["", DEFAULT_JWT_SECRET])
def test_production_refuses_an_unsafe_jwt_secret(secret: str, tmp_path: Path) -> None:
    log = refused_start(tmp_path, {"APP_ENV": "production", "JWT_SECRET": secret})
    assert "error: the API cannot start: JWT_SECRET is missing or the development default" in log


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_production_refuses_a_short_secret_before_touching_the_database(backend: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        database_url = backend_database(stack, backend, tmp_path)
        log = refused_start(
            tmp_path, {"APP_ENV": "production", "JWT_SECRET": "x" * 31}, database_url=database_url
        )
        assert (
            "error: the API cannot start: JWT_SECRET is 31 bytes: APP_ENV=production needs at least 32" in log
        )
        # Refused before migrating anything.
        if backend == "sqlite":
            assert not (tmp_path / "var" / "app.db").exists()
            return
        engine = create_engine(database_url, poolclass=pool.NullPool)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()


@pytest.mark.parametrize("app_env", ["Production", "prod", "PRODUCTION", "staging", ""])
def test_an_unknown_app_env_is_refused(app_env: str, tmp_path: Path) -> None:
    # These used to start as "not production": with the development secret.
    log = refused_start(tmp_path, {"APP_ENV": app_env, "JWT_SECRET": DEFAULT_JWT_SECRET})
    assert (
        f"error: the API cannot start: setting APP_ENV={app_env!r} (from environment): "
        "must be one of development, test, production" in log
    )


def test_production_refuses_debug_logging_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    log = refused_start(tmp_path / "a", {"APP_ENV": "production", "JWT_SECRET": STRONG, "LOG_LEVEL": "DEBUG"})
    assert "error: the API cannot start: LOG_LEVEL=DEBUG with APP_ENV=production" in log
    forced = {
        "APP_ENV": "production",
        "JWT_SECRET": STRONG,
        "LOG_LEVEL": "DEBUG",
        "ALLOW_DEBUG_IN_PRODUCTION": "1",
        "STATIC_DIR": str(stand_in_built_app(tmp_path / "dist")),
    }
    with ApiServer(tmp_path / "b", env=forced) as api:
        assert plain_http.get(api.url + "/health").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_production_starts_with_a_strong_secret(backend: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        database_url = backend_database(stack, backend, tmp_path)
        dist = stand_in_built_app(tmp_path / "dist")
        env = {"APP_ENV": "production", "JWT_SECRET": STRONG, "STATIC_DIR": str(dist)}
        with ApiServer(tmp_path, database_url=database_url, env=env) as api:
            assert plain_http.get(api.url + "/health").status_code == 200

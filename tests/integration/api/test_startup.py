"""APP_ENV=production refuses to start on a missing or default JWT secret, with a clear message."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from config.config import DEFAULT_JWT_SECRET
from tests.support.api_server import REPO, VENV_BIN, ApiServer
from tests.support.net import port_is_free


@pytest.mark.parametrize("secret", ["", DEFAULT_JWT_SECRET])
def test_production_refuses_an_unsafe_jwt_secret(secret: str, tmp_path: Path) -> None:
    server = ApiServer(tmp_path, env={"APP_ENV": "production", "JWT_SECRET": secret})
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
    assert "error: the API cannot start: JWT_SECRET is missing or the development default" in log
    assert "Traceback" not in log
    assert port_is_free(server.port)


def test_production_starts_with_a_real_secret(tmp_path: Path) -> None:
    with ApiServer(tmp_path, env={"APP_ENV": "production", "JWT_SECRET": "x" * 48}) as api:
        assert httpx.get(api.url + "/health").status_code == 200

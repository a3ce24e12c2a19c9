"""The container image's command lines, run directly on the host (there is no Docker engine here).

The worker command is the Dockerfile's CMD; the API command is the one the Kubernetes Deployment
runs. Only the executable is resolved to this virtual environment and, so that a developer's stack
on the default ports is never disturbed, the port is swapped for a free one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support import plain_http
from tests.support.api_server import stand_in_built_app
from tests.support.net import free_port, port_is_free
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def dockerfile_cmd() -> list[str]:
    line = [raw for raw in (REPO / "Dockerfile").read_text().splitlines() if raw.startswith("CMD ")][-1]
    return list(json.loads(line[len("CMD ") :]))


def api_deployment_command() -> list[str]:
    deployment = yaml.safe_load((REPO / "conf" / "k8s" / "api-deployment.yaml").read_text())
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["command"])


def on_host(argv: list[str]) -> list[str]:
    return [str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0], *argv[1:]]


def image_env(home: Path, database_url: str, **extra: str) -> dict[str, str]:
    # The image's ENV lines, with the home and database of this test; the image holds the built app.
    return {
        **os.environ,
        "APP_ENV": "production",
        "APP_HOME": str(home),
        "API_HOST": "127.0.0.1",
        "DATABASE_URL": database_url,
        "JWT_SECRET": os.urandom(16).hex(),
        "STATIC_DIR": str(stand_in_built_app(home / "dist")),
        **extra,
    }


def run_until_healthy(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    url: str,
    port: int,
    probe: Callable[[], None] | None = None,
) -> int:
    log = cwd / "program.log" if cwd != REPO else Path(env["APP_HOME"]) / "program.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"exited {process.returncode}: {log.read_text()[-2000:]}")
            return plain_http.get(url, timeout=2).status_code == 200

        wait_until(healthy, timeout=60, message=lambda: f"{url}; log: {log.read_text()[-2000:]}")
        if probe is not None:
            probe()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=60)
    wait_until(lambda: port_is_free(port), timeout=10, message=f"port {port} free")
    return code


def test_worker_command_of_the_image(tmp_path: Path, database_url: str) -> None:
    argv = dockerfile_cmd()
    assert argv == ["python", "-m", "workers.example_worker", "--health-port", "8090"]
    port = free_port()
    argv[argv.index("8090")] = str(port)
    env = image_env(tmp_path, database_url)
    migrate = "import sys; from store.migrate import upgrade; upgrade(sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", migrate, database_url], check=True, capture_output=True, timeout=120
    )
    health = f"http://127.0.0.1:{port}/health"
    code = run_until_healthy([sys.executable, *argv[1:]], env, tmp_path, health, port)
    assert code == 0, "a warm stop (SIGTERM) exits 0"


@pytest.mark.parametrize("workers", ["2"])
def test_api_command_of_the_image(tmp_path: Path, database_url: str, workers: str) -> None:
    argv = api_deployment_command()
    assert argv == ["gunicorn", "-c", "conf/gunicorn.conf.py", "api.app:app"]
    port = free_port()
    env = image_env(tmp_path, database_url, API_PORT=str(port), API_WORKERS=workers)

    def oversized_header_is_refused() -> None:
        # The request-line and header bounds hold on the image's own command too.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 431 "), reply[:200]

    code = run_until_healthy(
        on_host(argv), env, REPO, f"http://127.0.0.1:{port}/health", port, probe=oversized_header_is_refused
    )
    assert code == 0

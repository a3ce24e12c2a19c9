"""A reload (gunicorn HUP, or the rolling `python -m ops.reload`) answers every request a worker has
read: a create whose body is still on its way when the old worker is told to stop is completed and
answered, not dropped.
(What clients see of a reload under load is measured by `bin/bench reload`, not asserted here.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.api.conftest import LiveApi, boot_api
from tests.support.api_server import VENV_BIN
from tests.support.wait import wait_until


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> LiveApi:
    yield from boot_api(tmp_path_factory, "sqlite", workers=2)  # type: ignore[misc]


def worker_pids(control: Path) -> set[int]:
    result = subprocess.run(
        [str(VENV_BIN / "gunicornc"), "-s", str(control), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {int(worker["pid"]) for worker in json.loads(result.stdout)["workers"]}


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed; received {data!r}")
        data += chunk
    return data


@pytest.mark.parametrize("design", ["hup", "rolling"])
def test_a_request_read_before_a_reload_is_answered(api: LiveApi, design: str) -> None:
    caller = api.new_user()
    body = json.dumps({"title": "sent across a reload"}).encode()
    control = api.server.home / "var" / "run" / "gunicorn.ctl"
    old = worker_pids(control)
    reloading: subprocess.Popen[str] | None = None
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=60) as sock:
        sock.sendall(
            b"POST /api/v1/items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {caller.api_key}\r\nContent-Length: {len(body)}\r\n".encode()
            + b"Expect: 100-continue\r\n\r\n"
        )
        # "100 Continue" comes when the app asks for the body: the worker has read the request.
        assert read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 100 Continue")
        assert api.server.process is not None
        if design == "hup":
            os.kill(api.server.process.pid, signal.SIGHUP)
        else:  # it waits for the old workers to exit, which waits for this request: in the background
            env = {**api.server.env}
            reloading = subprocess.Popen(
                [sys.executable, "-m", "ops.reload"],
                env=env,
                cwd=api.server.home,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        # The new workers are up while the old one still holds the request.
        wait_until(lambda: len(worker_pids(control) - old) == 2, timeout=120, message="new workers")
        sock.sendall(body)
        response = read_until(sock, b"\r\n\r\n")
        head, _, payload = response.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(payload) < length:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed mid-body: {response + payload!r}"
            payload += chunk
    assert head.startswith(b"HTTP/1.1 201"), response
    assert json.loads(payload)["title"] == "sent across a reload"
    wait_until(lambda: not worker_pids(control) & old, timeout=120, message="the old workers to exit")
    if reloading is not None:
        output, _ = reloading.communicate(timeout=120)
        assert reloading.returncode == 0 and "reload: done" in output, output

"""Production on one server: ``APP_ENV=production bin/run`` from a fresh home, then back to development.

One stack for the module (bin/run takes a while: build skipped when unchanged, migrations, start);
the tests run in order on it, as an operator would: production up, its checks, stop/start all,
then the switch back to development brings the Vite dev server back. It reuses the suite's .venv
(bin/run accepts bin/test's install) and node_modules.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import plain_http
from tests.support.processes import processes_mentioning
from tests.support.stack import REPO, Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack
VENV_BIN = Path(sys.executable).parent
SUPERVISORCTL = str(VENV_BIN / "supervisorctl")


def bin_run(stack: Stack, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "bin" / "run")],
        cwd=REPO,
        env={**stack.env, "RUN_TIMEOUT": "180", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def vite_processes(stack: Stack) -> list[tuple[int, str]]:
    return [p for p in processes_mentioning(str(stack.home)) if "vite" in p[1]]


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    # As docs/production.md sets it up: the nginx site in front connects from loopback.
    env = {"APP_ENV": "production", "API_TRUSTED_PROXIES": "127.0.0.1"}
    stack = Stack(tmp_path_factory.mktemp("production"), env=env)
    started = bin_run(stack)
    stack.started = True  # from here on, stop() shuts supervisord down and checks it is gone
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield stack, started.stdout + started.stderr
    finally:
        stack.stop()


def test_production_runs_no_vite_and_prints_no_password(production: tuple[Stack, str]) -> None:
    stack, output = production
    names = sorted(p["name"] for p in stack.process_info())
    assert names == stack.declared_names()  # with the shape file bin/run wrote into the home
    assert {"api", "healthcheck", "worker_0", "worker_1"} <= set(names) and "frontend" not in names
    assert vite_processes(stack) == []
    assert "password" not in output.lower() and "demo user" not in output
    assert not (stack.home / "var" / "demo-credentials.json").exists()
    assert f"Frontend  {stack.api_url}" in output  # the app is on the API's origin


def test_the_api_serves_the_built_app(production: tuple[Stack, str]) -> None:
    stack, _ = production
    page = plain_http.get(stack.api_url + "/items", timeout=10)  # an app route: index.html
    assert page.status_code == 200 and '<div id="root">' in page.text
    asset = page.text.split('src="/assets/')[1].split('"')[0]
    script = plain_http.get(f"{stack.api_url}/assets/{asset}", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert plain_http.get(stack.api_url + "/health", timeout=10).json()["status"] == "healthy"


def test_assets_are_compressed_and_cacheable(production: tuple[Stack, str]) -> None:
    stack, _ = production
    page = plain_http.get(stack.api_url + "/", timeout=10)
    asset = page.text.split('src="/assets/')[1].split('"')[0]
    script = plain_http.get(
        f"{stack.api_url}/assets/{asset}", headers={"Accept-Encoding": "gzip, br"}, timeout=10
    )
    assert script.headers.get("content-encoding") in ("gzip", "br")
    assert "immutable" in script.headers.get("cache-control", "")


def test_monitor_and_ctl_status_report_a_healthy_sized_stack(production: tuple[Stack, str]) -> None:
    stack, _ = production
    monitor = stack.run(sys.executable, str(REPO / "bin" / "monitor.py"))
    assert monitor.returncode == 0, monitor.stdout + monitor.stderr
    status = stack.run(str(VENV_BIN / "ctl"), "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Sizing      API workers 2, worker processes 2 (auto; " in status.stdout
    assert "production)" in status.stdout


def test_stop_all_and_start_all_work(production: tuple[Stack, str]) -> None:
    stack, _ = production
    ctl = [SUPERVISORCTL, "-c", str(REPO / "supervisord.conf")]
    stopped = stack.run(*ctl, "stop", "all", timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert {p["statename"] for p in stack.process_info() if p["name"] != "healthcheck"} == {"STOPPED"}
    started = stack.run(*ctl, "start", "all", timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    stack.wait_healthy()
    assert vite_processes(stack) == []  # start all has no Vite to start


def test_plain_supervisord_starts_the_shape_bin_run_chose(production: tuple[Stack, str]) -> None:
    # What the systemd unit does at boot: no bin/run, and no APP_ENV in the environment.
    stack, _ = production
    stack.stop()
    environment = {k: v for k, v in stack.env.items() if k != "APP_ENV"}
    subprocess.run(
        [str(VENV_BIN / "supervisord"), "-c", str(REPO / "supervisord.conf")],
        cwd=stack.home,
        env=environment,
        check=True,
        timeout=60,
    )
    stack.started = True
    wait_until(stack.socket.exists, timeout=20, message="supervisord's socket")
    stack.wait_running()
    stack.wait_healthy()
    names = sorted(p["name"] for p in stack.process_info())
    assert names == stack.declared_names() and "frontend" not in names
    assert '<div id="root">' in plain_http.get(stack.api_url + "/", timeout=10).text


def test_a_missing_built_app_refuses_to_start_with_one_line(
    production: tuple[Stack, str], tmp_path: Path
) -> None:
    stack, _ = production
    home = tmp_path / "home"
    home.mkdir()
    refused = bin_run(stack, APP_HOME=str(home), STATIC_DIR=str(tmp_path / "empty"))
    assert refused.returncode == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "STATIC_DIR" in errors[0] and "index.html" in errors[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (home / "var" / "run" / "supervisor.sock").exists()  # nothing started


def test_the_default_secret_refuses_to_start_with_one_line(
    production: tuple[Stack, str], tmp_path: Path
) -> None:
    stack, _ = production
    home = tmp_path / "home"
    home.mkdir()
    env = {**stack.env, "APP_HOME": str(home), "RUN_TIMEOUT": "180"}
    env.pop("JWT_SECRET")
    refused = subprocess.run(
        [str(REPO / "bin" / "run")], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert refused.returncode == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "JWT_SECRET" in errors[0], refused.stderr
    assert "password" not in (refused.stdout + refused.stderr).lower()
    assert not (home / "var" / "run" / "supervisor.sock").exists()


def test_update_reloads_the_api_in_place_and_restarts_the_workers(production: tuple[Stack, str]) -> None:
    stack, _ = production
    before = {p["name"]: p["pid"] for p in stack.process_info()}
    updated = subprocess.run(
        [str(REPO / "bin" / "update"), "--no-fetch"],
        cwd=REPO,
        env={**stack.env, "RUN_TIMEOUT": "180"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    after = {p["name"]: p["pid"] for p in stack.process_info()}
    assert after["api"] == before["api"]  # gunicorn's master stays: a rolling reload, not a restart
    assert "reload: done" in updated.stdout + updated.stderr
    assert "restart: api" not in (stack.home / "logs" / "healthcheck.log").read_text()
    assert all(after[w] != before[w] for w in ("worker_0", "worker_1"))
    assert "password" not in (updated.stdout + updated.stderr).lower()
    assert vite_processes(stack) == []


def test_switching_back_to_development_brings_vite_back(production: tuple[Stack, str]) -> None:
    stack, _ = production
    switched = bin_run(stack, APP_ENV="development")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert "the shape changed" in switched.stderr
    names = sorted(p["name"] for p in stack.process_info())
    assert names == stack.declared_names() and "frontend" in names
    wait_until(lambda: vite_processes(stack), timeout=30, message="the Vite dev server")
    page = plain_http.get(stack.frontend_url + "/", timeout=10)
    assert page.status_code == 200 and "/@vite/client" in page.text
    assert plain_http.get(stack.api_url + "/", timeout=10).status_code == 404  # the API serves no app

"""The image built by `bin/image build`, run with podman against this host's PostgreSQL.

What docs/production.md's "Containers" section runs: the migration job, the API and two workers
(each `podman run --network host --read-only` with tmpfs on /app/var and /app/logs), items created
through the SDK, one worker killed mid-batch with `podman kill`, every item done exactly once; the
API serves the built app and /health; nothing but var/ and logs/ is writable. Then bad input: no
DATABASE_URL or JWT_SECRET, a wrong DATABASE_URL, APP_HOME missing or read-only.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from tests.conftest import require_postgres
from tests.support.databases import fresh_postgres_database
from tests.support.net import free_port
from tests.support.wait import wait_until

from sdk import Client

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("IMAGE_TAG", "localhost/svcstack:latest")
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(REPO / "conf" / "podman" / "containers.conf")}
ITEMS = 120
PASSWORD = "image-test-" + uuid.uuid4().hex
API = ["gunicorn", "-c", "conf/gunicorn.conf.py", "api.app:app"]
WORKER = ["python", "-m", "workers.example_worker"]


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "--runtime", "runc", *args],
        env=PODMAN_ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Containers:
    """Containers of one test, labelled; removed (and checked gone) at the end."""

    label: str = field(default_factory=lambda: f"svcstack-test={uuid.uuid4().hex[:10]}")
    names: list[str] = field(default_factory=list)

    def run(
        self, *args: str, detach: bool = False, writable: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`podman run` the image: host network, read-only root, var/ and logs/ on tmpfs."""
        name = f"svcstack-test-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        # tmpfs owned by the image's user (U), as the image's own var/ (0700) and logs/ are.
        mounts = ["--tmpfs", "/app/var:rw,U", "--tmpfs", "/app/logs:rw,U"]
        return podman(
            "run",
            *(["-d"] if detach else []),
            "--name",
            name,
            "--label",
            self.label,
            "--network",
            "host",
            "--read-only",
            *(mounts if writable else []),
            *args,
            timeout=180,
        )

    def logs(self, name: str) -> str:
        done = podman("logs", name)
        return done.stdout + done.stderr

    def remove_all(self) -> None:
        podman("rm", "-f", "-t", "5", *self.names, timeout=120)
        left = podman("ps", "-a", "-q", "--filter", f"label={self.label}")
        assert left.stdout.strip() == "", f"containers left: {left.stdout}"


@pytest.fixture
def containers() -> Iterator[Containers]:
    if podman("image", "exists", IMAGE).returncode != 0:
        pytest.fail(f"no image {IMAGE}: run `bin/image build` first (`bin/image test` does)")
    made = Containers()
    try:
        yield made
    finally:
        made.remove_all()


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres_database(require_postgres()) as url:
        yield url


def env(**values: str) -> list[str]:
    return [arg for name, value in values.items() for arg in ("-e", f"{name}={value}")]


def error_lines(stderr: str) -> list[str]:
    """The error lines (``error: ...``, ctl's ``Error: ...``, or a JSON line at ERROR where
    LOG_FORMAT is json, the production default); gunicorn logs its start before."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.lower().startswith("error:") or _json_error(line)]


def _json_error(line: str) -> bool:
    return line.startswith("{") and json.loads(line).get("level") == "ERROR"


def secrets(database_url: str) -> list[str]:
    return env(DATABASE_URL=database_url, JWT_SECRET=uuid.uuid4().hex + uuid.uuid4().hex)


def held_by_worker(database_url: str, worker_id: int) -> set[int]:
    """Ids of the items ``example_worker-<worker_id>`` holds (claimed, not finished) now."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id FROM items WHERE status = 'processing' AND claimed_by LIKE :who"),
                {"who": f"%:example_worker-{worker_id}"},
            )
            return {int(row[0]) for row in rows}
    finally:
        engine.dispose()


def test_migrate_api_and_two_workers_one_killed_mid_batch(containers: Containers, database: str) -> None:
    common = [*secrets(database), *env(API_TRUSTED_PROXIES="127.0.0.1")]
    migrate = containers.run(*common, IMAGE, "ctl", "db", "upgrade")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "database at revision" in migrate.stdout

    api_port = free_port()
    api = containers.run(*common, *env(API_PORT=str(api_port), API_WORKERS="2"), IMAGE, *API, detach=True)
    assert api.returncode == 0, api.stderr
    api_name = containers.names[-1]
    url = f"http://127.0.0.1:{api_port}"
    wait_until(
        lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200,
        timeout=120,
        message=lambda: f"the API container's /health\n{containers.logs(api_name)[-3000:]}",
    )
    # The built app (FRONTEND=prebuilt: the host's src/frontend/dist) at /, from the API.
    index = httpx.get(f"{url}/", timeout=10)
    assert index.status_code == 200
    assert index.text == (REPO / "src" / "frontend" / "dist" / "index.html").read_text()

    # Read-only but for var/ and logs/.
    for path, writable in (("/app/var/probe", True), ("/app/logs/probe", True), ("/app/probe", False)):
        touched = podman("exec", api_name, "touch", path)
        assert (touched.returncode == 0) is writable, (path, touched.stderr)
    assert "Read-only file system" in podman("exec", api_name, "touch", "/app/static/probe").stderr

    user = podman(
        "exec",
        "-e",
        f"CTL_PASSWORD={PASSWORD}",
        api_name,
        "ctl",
        "users",
        "create",
        "--email",
        "img@example.com",
    )
    assert user.returncode == 0, user.stdout + user.stderr
    with Client(base_url=url) as client:
        client.login(email="img@example.com", password=PASSWORD)
        ids = [client.create_item(title=f"item {n}", description="x " * n).id for n in range(ITEMS)]

        ports = [free_port(), free_port()]
        work = env(WORKER_SIMULATED_WORK="0.1", WORKER_BATCH_SIZE="10", WORKER_LEASE_SECONDS="3")
        work += env(WORKER_IDLE_INTERVAL="0.5", WORKER_STOP_TIMEOUT="1")
        for worker_id, port in enumerate(ports):
            started = containers.run(
                *common,
                *work,
                IMAGE,
                *WORKER,
                "--worker-id",
                str(worker_id),
                "--health-port",
                str(port),
                detach=True,
            )
            assert started.returncode == 0, started.stderr
        workers = containers.names[-2:]
        for name, port in zip(workers, ports, strict=True):
            wait_until(
                lambda port=port: httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200,
                timeout=90,
                message=lambda name=name: f"worker {name} healthy\n{containers.logs(name)[-3000:]}",
            )
        victim = workers[1]
        held = wait_until(lambda: held_by_worker(database, 1), timeout=60, message="worker 1 holding a batch")
        killed = podman("kill", "--signal", "KILL", victim)
        assert killed.returncode == 0, killed.stderr

        def all_done() -> list[object]:
            items = [client.get_item(item_id=item_id) for item_id in ids]
            return items if all(item.status == "done" for item in items) else []

        done = wait_until(
            all_done, timeout=240, interval=1, message=lambda: containers.logs(workers[0])[-3000:]
        )
    # Exactly once: each result was written by the claim that finished the item (the last attempt),
    # and the batch the killed worker held was done again, by the other worker.
    assert all(item.metadata["result"]["attempt"] == item.attempts for item in done)  # type: ignore[attr-defined]
    # (Items the killed worker finished before it died keep its result: outcomes are written as a
    # batch goes, and a worker's death is charged to no item of the batch it held.)
    redone = [
        item
        for item in done
        if item.id in held  # type: ignore[attr-defined]
        and not item.metadata["result"]["worker"].endswith(":example_worker-1")  # type: ignore[attr-defined]
    ]
    assert redone, f"the killed worker held {sorted(held)}: none was finished by the other worker"
    assert all(item.metadata["result"]["worker"].endswith("example_worker-0") for item in redone)  # type: ignore[attr-defined]
    assert podman("inspect", "--format", "{{.State.ExitCode}}", victim).stdout.strip() == "137"


@pytest.mark.parametrize("command", [WORKER, API, ["ctl", "db", "upgrade"]], ids=["worker", "api", "migrate"])
@pytest.mark.parametrize("missing", ["DATABASE_URL", "JWT_SECRET"])
def test_production_without_a_secret_is_one_line_and_exit_2(
    containers: Containers, database: str, command: list[str], missing: str
) -> None:
    given = {"DATABASE_URL": database, "JWT_SECRET": uuid.uuid4().hex * 2, "API_TRUSTED_PROXIES": "127.0.0.1"}
    del given[missing]
    result = containers.run(*env(**given), IMAGE, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and missing in lines[0], result.stderr


def test_a_wrong_database_url_the_worker_backs_off_and_the_api_is_not_ready(containers: Containers) -> None:
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/app"
    port = free_port()
    worker = containers.run(*secrets(nowhere), IMAGE, *WORKER, "--health-port", str(port), detach=True)
    api_port = free_port()
    api = containers.run(*secrets(nowhere), *env(API_PORT=str(api_port)), IMAGE, *API, detach=True)
    assert worker.returncode == 0 and api.returncode == 0
    worker_name, api_name = containers.names[-2:]
    wait_until(
        lambda: (
            "backing off" in containers.logs(worker_name)
            and "Connection refused" in containers.logs(worker_name)
        ),
        timeout=60,
        message=lambda: containers.logs(worker_name)[-2000:],
    )
    # Its health endpoint says so too: the consecutive errors and the last one.
    health = wait_until(
        lambda: (
            (h := httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json())["consecutive_errors"] and h
        ),
        timeout=60,
        message=lambda: containers.logs(worker_name)[-2000:],
    )
    assert "Connection refused" in health["last_error"], health
    # The API says why in one line and listens anyway: alive (/livez 200), not ready (/readyz 503
    # naming the database), so a load balancer routes around it and nothing restarts it.
    wait_until(
        lambda: "database unreachable" in containers.logs(api_name),
        timeout=60,
        message=lambda: containers.logs(api_name)[-2000:],
    )
    wait_until(
        lambda: _status(f"http://127.0.0.1:{api_port}/livez") == 200,
        timeout=60,
        message=lambda: containers.logs(api_name)[-2000:],
    )
    ready = httpx.get(f"http://127.0.0.1:{api_port}/readyz", timeout=5)
    assert ready.status_code == 503 and "database" in ready.text, ready.text
    for name in (worker_name, api_name):
        state = podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip()
        assert state == "true", f"{name} exited: {containers.logs(name)[-2000:]}"


@pytest.mark.parametrize("command", [WORKER, API], ids=["worker", "api"])
def test_app_home_missing_or_read_only_is_one_line(
    containers: Containers, database: str, command: list[str]
) -> None:
    missing = containers.run(*secrets(database), *env(APP_HOME="/srv/nothing"), IMAGE, *command)
    assert missing.returncode == 2, missing.stdout + missing.stderr
    lines = error_lines(missing.stderr)
    assert len(lines) == 1 and "APP_HOME=/srv/nothing does not exist" in lines[0], missing.stderr
    read_only = containers.run(*secrets(database), IMAGE, *command, writable=False)
    assert read_only.returncode == 2, read_only.stdout + read_only.stderr
    lines = error_lines(read_only.stderr)
    assert len(lines) == 1 and "VAR_DIR=/app/var is not writable (in APP_HOME=/app)" in lines[0], (
        read_only.stderr
    )


def test_kube_play_takes_the_deployments_but_not_the_job_nor_the_probes(tmp_path: Path) -> None:
    """What docs/production.md says `podman kube play` does with conf/k8s (so it is not tested running:
    the migrate Job is skipped and the probes cannot work; the manifests stay validated offline)."""
    rendered = subprocess.run(
        [str(Path(sys.executable).parent / "kubectl"), "kustomize", str(REPO / "conf" / "k8s")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    manifest = tmp_path / "all.yaml"
    manifest.write_text(rendered.replace("image: app:latest", f"image: {IMAGE}"))
    values = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/none", "JWT_SECRET": "k" * 40}
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in values.items()}))
    assert podman("secret", "create", "app-secrets", str(secret)).returncode == 0
    try:
        host = podman("kube", "play", "--start=false", "--network", "host", str(manifest))
        assert "PortMappings can only be used with Bridge or slirp4netns networking" in host.stderr
        podman("kube", "down", str(manifest))
        played = podman("kube", "play", "--start=false", str(manifest), timeout=300)
        assert played.returncode == 0, played.stderr
        names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
        assert {"api-pod-0-api", "api-pod-1-api", "example-worker-pod-0-worker"} <= set(names)
        assert not [name for name in names if "migrate" in name], "the Job is skipped"
        probe = podman("inspect", "--format", "{{json .Config.Healthcheck.Test}}", "api-pod-0-api").stdout
        assert "http://localhost:0/livez" in probe and "curl" in probe
        env_of = podman("inspect", "--format", "{{json .Config.Env}}", "api-pod-0-api").stdout
        assert "WORKER_BATCH_SIZE=10" in env_of and "JWT_SECRET=" in env_of  # ConfigMap and Secret
    finally:
        podman("kube", "down", str(manifest))
        podman("secret", "rm", "app-secrets")


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None

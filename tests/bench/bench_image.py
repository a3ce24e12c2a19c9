"""The container image: its size, its build time from the cached base, and the time from `podman run`
to a ready API and a ready worker, each next to its anchor on the host in the same run.

    bin/bench image [--rounds 5] [--build-rounds 2]

Anchors: the build against `pip install` of the same project into a fresh venv on the host (the
build's biggest step, without podman); the container start against the same command started on the
host from .venv (what the container adds). Needs root, podman and the image (`bin/image build`), and
PostgreSQL at TEST_DATABASE_URL (a database of its own, dropped after).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.support.databases import fresh_postgres_database
from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]
TAG = "localhost/svcstack:bench"
PODMAN = ["podman", "--runtime", "runc"]
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(REPO / "conf" / "podman" / "containers.conf")}
VENV_BIN = Path(sys.executable).parent


def cpu_counters() -> tuple[int, int]:
    """(total, steal) jiffies from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields), fields[7] if len(fields) > 7 else 0


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    return f"median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def timed(command: list[str], **kwargs: object) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, timeout=1800, **kwargs)  # type: ignore[call-overload]
    return time.monotonic() - started


def until_ok(url: str, started: float, timeout: float = 180) -> float:
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready within {timeout:g} s")


def build_times(rounds: int) -> tuple[list[float], list[float]]:
    image, host = [], []
    for _ in range(rounds):
        image.append(timed(["bin/image", "build", "--no-cache", TAG], cwd=REPO))
        with tempfile.TemporaryDirectory() as tmp:
            release = Path(tmp) / "release"
            release.mkdir()
            for name in ("setup.cfg", "pyproject.toml", "README.md"):
                shutil.copy2(REPO / name, release / name)
            skip = shutil.ignore_patterns("frontend", "__pycache__", "*.egg-info", "node_modules")
            shutil.copytree(REPO / "src", release / "src", ignore=skip)
            shutil.copytree(REPO / "python-sdk", release / "python-sdk", ignore=skip)
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "venv", f"{tmp}/venv"], check=True, timeout=120)
            subprocess.run(
                [
                    f"{tmp}/venv/bin/pip",
                    "install",
                    "-q",
                    "--no-cache-dir",
                    str(release),
                    str(release / "python-sdk"),
                ],
                check=True,
                capture_output=True,
                timeout=1800,
            )
            host.append(time.monotonic() - started)
    return image, host


def start_times(rounds: int, database_url: str) -> dict[str, list[float]]:
    secret = uuid.uuid4().hex * 2
    env = {"DATABASE_URL": database_url, "JWT_SECRET": secret, "API_TRUSTED_PROXIES": "127.0.0.1"}
    flags = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
    run = [*PODMAN, "run", "-d", "--network", "host", "--read-only", "--tmpfs", "/app/var:rw,U"]
    run += ["--tmpfs", "/app/logs:rw,U", *flags]
    subprocess.run(
        [*PODMAN, "run", "--rm", "--network", "host", *flags, TAG, "ctl", "db", "upgrade"],
        env=PODMAN_ENV,
        check=True,
        capture_output=True,
        timeout=300,
    )
    times: dict[str, list[float]] = {
        "api (podman run)": [],
        "api (host)": [],
        "worker (podman run)": [],
        "worker (host)": [],
    }
    home = Path(tempfile.mkdtemp())
    (home / "static").mkdir()
    (home / "static" / "index.html").write_text("<!doctype html>")
    host_env = {
        **os.environ,
        **env,
        "APP_ENV": "production",
        "APP_HOME": str(home),
        "STATIC_DIR": str(home / "static"),
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }

    def container(argv: list[str], url: str) -> float:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        subprocess.run([*run, "--name", name, *argv], env=PODMAN_ENV, check=True, capture_output=True)
        try:
            return until_ok(url, started)
        finally:
            subprocess.run([*PODMAN, "rm", "-f", "-t", "5", name], env=PODMAN_ENV, capture_output=True)

    def on_host(argv: list[str], url: str, extra: dict[str, str]) -> float:
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**host_env, **extra},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            return until_ok(url, started)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)

    gunicorn = ["gunicorn", "-c", "conf/gunicorn.conf.py", "api.app:app"]
    for _ in range(rounds):
        port = free_port()
        api = ["-e", f"API_PORT={port}", "-e", "API_WORKERS=2", TAG, *gunicorn]
        times["api (podman run)"].append(container(api, f"http://127.0.0.1:{port}/health"))
        port = free_port()
        extra = {"API_PORT": str(port), "API_WORKERS": "2"}
        host_api = [str(VENV_BIN / "gunicorn"), *gunicorn[1:]]
        times["api (host)"].append(on_host(host_api, f"http://127.0.0.1:{port}/health", extra))
        port = free_port()
        worker = ["-m", "workers.example_worker", "--health-port", str(port)]
        times["worker (podman run)"].append(
            container([TAG, "python", *worker], f"http://127.0.0.1:{port}/readyz")
        )
        port = free_port()
        worker = ["-m", "workers.example_worker", "--health-port", str(port)]
        times["worker (host)"].append(
            on_host([sys.executable, *worker], f"http://127.0.0.1:{port}/readyz", {})
        )
    shutil.rmtree(home)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench image", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="starts of each kind (default 5)")
    parser.add_argument("--build-rounds", type=int, default=2, help="builds of each kind (default 2)")
    args = parser.parse_args(argv)
    server = os.environ.get("TEST_DATABASE_URL")
    if not server or os.geteuid() != 0 or not shutil.which("podman"):
        print("bin/bench image needs root, podman and TEST_DATABASE_URL", file=sys.stderr)
        return 2
    total0, steal0 = cpu_counters()
    load0 = os.getloadavg()[0]
    builds, pips = build_times(args.build_rounds)
    size = subprocess.run(
        [*PODMAN, "image", "inspect", "--format", "{{.Size}}", TAG],
        env=PODMAN_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with fresh_postgres_database(server) as url:
        starts = start_times(args.rounds, url)
    total1, steal1 = cpu_counters()
    steal = 100 * (steal1 - steal0) / max(1, total1 - total0)
    print(f"machine: load {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end; CPU steal {steal:.1f}%")
    print(f"image size: {int(size) / 1e6:.0f} MB ({TAG})")
    print(f"build, cached base, no layer cache: {spread(builds)}")
    print(f"anchor, pip install into a fresh venv on the host: {spread(pips)}")
    print(f"ratio build / anchor: {statistics.median(builds) / statistics.median(pips):.2f}")
    for kind in ("api", "worker"):
        ours, anchor = starts[f"{kind} (podman run)"], starts[f"{kind} (host)"]
        print(
            f"{kind}: podman run to ready {spread(ours)}; on the host {spread(anchor)}; "
            f"ratio {statistics.median(ours) / statistics.median(anchor):.2f}"
        )
    subprocess.run([*PODMAN, "rmi", TAG], env=PODMAN_ENV, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

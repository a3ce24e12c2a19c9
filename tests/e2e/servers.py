"""Processes the browser tests and the frontend benchmark boot: the Vite server and a worker.

    with ViteServer(api_url=api.url) as vite:           # `npm run dev` on a free port
        page.goto(vite.url)
    with ViteServer(api_url=..., mode="preview"):       # `vite preview` of a built dist/
        ...
    with WorkerProcess(home, database_url=url):         # python -m workers.example_worker
        ...

Each runs in its own process group on a free port, and is stopped and checked gone on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

from tests.support.net import free_port
from tests.support.processes import stop_process_group
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "src" / "frontend"
VENV_BIN = Path(sys.executable).parent


def ensure_node_modules() -> None:
    """`npm ci` once when node_modules is missing (a fresh clone); the lock file pins everything."""
    if (FRONTEND / "node_modules" / ".bin" / "vite").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the frontend needs Node 20 and npm")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=FRONTEND,
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )


class _Managed:
    """A child process in its own session: stopped with its whole group, port checked free."""

    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def _spawn(self, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _alive(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"{type(self).__name__} exited with {self.process.returncode}:\n" + self.log_tail()
            )
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process_group(self.process, port=self.port, timeout=20)
        self.process = None


class ViteServer(_Managed):
    """The frontend served by Vite: ``mode="dev"`` (npm run dev) or ``"preview"`` (a built dist/)."""

    def __init__(
        self,
        *,
        api_url: str,
        log_dir: Path,
        mode: Literal["dev", "preview"] = "dev",
        startup_timeout: float = 60.0,
    ) -> None:
        self.api_url = api_url
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"vite-{mode}-{self.port}.log"
        self.startup_timeout = startup_timeout

    def start(self) -> ViteServer:
        ensure_node_modules()
        env = {
            **os.environ,
            "FRONTEND_HOST": "127.0.0.1",
            "FRONTEND_PORT": str(self.port),
            "API_URL": self.api_url,
            "BROWSER": "none",
            "NO_COLOR": "1",
        }
        script = "dev" if self.mode == "dev" else "preview"
        self._spawn(["npm", "run", script], cwd=FRONTEND, env=env)
        wait_until(
            self._serving,
            timeout=self.startup_timeout,
            message=lambda: f"vite {self.mode} on {self.url}; log:\n{self.log_tail()}",
        )
        return self

    def _serving(self) -> bool:
        return self._alive() and httpx.get(self.url + "/", timeout=2).status_code == 200

    def __enter__(self) -> ViteServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class WorkerProcess(_Managed):
    """One example worker on the given database, with its health server on a free port."""

    def __init__(
        self, home: Path, *, database_url: str, worker_id: int = 0, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "logs" / f"worker-{worker_id}-{self.port}.log"
        self.env = {
            **os.environ,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "WORKER_HEALTH_PORT": str(self.port),
            "WORKER_IDLE_INTERVAL": "0.5",
            **(env or {}),
        }
        self.argv = [
            str(VENV_BIN / "python"),
            "-m",
            "workers.example_worker",
            "--worker-id",
            str(worker_id),
            "--health-port",
            str(self.port),
        ]
        self.home = home

    def start(self) -> WorkerProcess:
        self._spawn(self.argv, cwd=self.home, env=self.env)
        wait_until(
            lambda: self._alive() and httpx.get(self.url + "/livez", timeout=2).status_code == 200,
            timeout=30,
            message=lambda: f"worker health on {self.url}; log:\n{self.log_tail()}",
        )
        return self

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""A real API server for tests: gunicorn with the project's gunicorn.conf.py on a free port.

with ApiServer(tmp_path, database_url=url) as api:
    httpx.get(api.url + "/health")
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from tests.support import plain_http
from tests.support.net import free_port
from tests.support.processes import stop_process_group
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def stand_in_built_app(directory: Path) -> Path:
    """A STATIC_DIR for APP_ENV=production tests about the API, not the app: an index.html is all the
    API's start-up check needs (tests of the real build run `npm run build` themselves)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.html").write_text("<!doctype html><title>stand-in</title>")
    return directory


class ApiServer:
    """Boots gunicorn (real workers, real migrations in on_starting) and stops it, checked gone."""

    def __init__(
        self,
        home: Path,
        *,
        database_url: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{home / 'var' / 'app.db'}"
        self.env = {
            **os.environ,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "API_PORT": str(self.port),
            "API_WORKERS": str(workers),
            "DATABASE_URL": self.database_url,
            "JWT_SECRET": "test-secret-" + os.urandom(32).hex(),
            **(env or {}),
        }
        self.startup_timeout = startup_timeout
        self.log_path = home / "logs" / "api-test.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiServer:
        self.spawn()
        try:
            wait_until(
                self._healthy,
                timeout=self.startup_timeout,
                message=lambda: f"API health on {self.url}; log:\n{self.log_tail()}",
            )
        except BaseException:
            self.stop()  # never healthy: `with` calls no __exit__ for a failed __enter__
            raise
        return self

    def spawn(self) -> ApiServer:
        """Start gunicorn without waiting for it to be healthy (stop() still cleans up)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", str(REPO / "conf" / "gunicorn.conf.py"), "api.app:app"],
            cwd=self.home,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
        return plain_http.get(self.url + "/health", timeout=2).status_code == 200

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process_group(self.process, port=self.port)
        self.process = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

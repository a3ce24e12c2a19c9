"""Processes the browser tests and the frontend benchmark boot: the Vite server and a worker.

    with ViteServer(api_url=api.url) as vite:           # `npm run dev` on a free port
        page.goto(vite.url)
    with ViteServer(api_url=..., mode="preview"):       # `vite preview` of src/frontend/dist
        ...
    dist = built_frontend(shared_dir)                   # `vite build` once for the whole run
    with ViteServer(api_url=..., mode="preview", dist=dist):
        ...
    with WorkerProcess(home, database_url=url):         # python -m workers.example_worker
        ...

Each runs in its own process group on a free port, and is stopped and checked gone on exit.
"""

from __future__ import annotations

import fcntl
import hashlib
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


def frontend_sources() -> list[Path]:
    """Every file the production build reads (not node_modules, not dist), in a stable order: what
    bin/lib/setup.sh's frontend_sources lists, tracked or not (ignored files left out)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z", "--", ".", ":!dist", ":!node_modules"],
            cwd=FRONTEND,
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout.decode()
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):  # not a git checkout: every file but the two
        names = [
            str(path.relative_to(FRONTEND))
            for path in FRONTEND.rglob("*")
            if path.is_file() and path.relative_to(FRONTEND).parts[0] not in ("node_modules", "dist")
        ]
    return [FRONTEND / name for name in sorted(names) if (FRONTEND / name).is_file()]


def sources_digest() -> str:
    """A digest of the frontend's sources (names and contents): a build made from other sources
    has another name, so a changed source is never served from an older build."""
    digest = hashlib.sha256()
    for path in frontend_sources():
        digest.update(str(path.relative_to(FRONTEND)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def built_frontend(shared_dir: Path) -> Path:
    """The production bundle of the current sources, made once in ``shared_dir`` for every test
    process that asks (a file lock: the first builds, the others wait and reuse it).

    It is `npm run build`'s output: that script type-checks (`tsc --noEmit`, which writes nothing)
    and then runs `vite build`; only the second part runs here, the type check being
    tests/unit/frontend's (`npm run typecheck`) and the whole script bin/run's (tests/integration/
    test_production.py). Named by sources_digest(), so a source edited during a run gets a build of
    its own; written to a temporary name and renamed when complete, so a build that failed half-way
    is never served. Never src/frontend/dist (a developer's, possibly older).
    """
    ensure_node_modules()
    shared_dir.mkdir(parents=True, exist_ok=True)
    out = shared_dir / f"frontend-dist-{sources_digest()}"
    with (shared_dir / "frontend-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "index.html").is_file():
            return out
        partial = shared_dir / f"{out.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        built = subprocess.run(
            [
                str(FRONTEND / "node_modules" / ".bin" / "vite"),
                "build",
                "--outDir",
                str(partial),
                "--emptyOutDir",
            ],
            cwd=FRONTEND,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_COLOR": "1"},
        )
        if built.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise RuntimeError(f"vite build failed:\n{built.stdout[-4000:]}{built.stderr[-4000:]}")
        partial.rename(out)
    return out


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
    """The frontend served by Vite: ``mode="dev"`` (npm run dev) or ``"preview"`` (a built dist/:
    ``dist``, e.g. from built_frontend(), or else src/frontend/dist). Both proxy /api/ and /health
    to ``api_url`` with the same settings (vite.config.ts)."""

    def __init__(
        self,
        *,
        api_url: str,
        log_dir: Path,
        mode: Literal["dev", "preview"] = "dev",
        dist: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        if dist is not None and mode != "preview":
            raise ValueError("dist is what `vite preview` serves: mode='preview' with it")
        self.api_url = api_url
        self.mode = mode
        self.dist = dist
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
        argv = ["npm", "run", "dev" if self.mode == "dev" else "preview"]
        if self.dist is not None:
            argv += ["--", "--outDir", str(self.dist)]
        self._spawn(argv, cwd=FRONTEND, env=env)
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

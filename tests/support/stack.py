"""An isolated stack for tests: the repository's own supervisord.conf, run from a temporary home.

supervisord's relative paths (socket, pid, logs) resolve against its working directory, and every
program reads its ports and paths from config with APP_HOME pointing at the same directory, so this
stack never touches a developer's stack on the default ports.

    with Stack(tmp_path) as stack:
        stack.wait_running()
        stack.rpc().supervisor.getAllProcessInfo()

``frontend=False`` leaves the Vite dev server out and ``workers=N`` runs N example workers: a
file in the home's ``var/supervisord.d/`` (the include bin/run's shape file uses, read after the
program files) sets their ``numprocs``, so ``declared()`` and every expectation drawn from it follow.
For tests that never touch the frontend, or need fewer workers than the conf declares; the default
runs every program as the conf declares it.

``extra_programs`` adds supervisord sections for one test (e.g. a program that exits at once):
supervisord takes a single ``-c`` and ``[include]`` paths are relative to the including file, so the
stack then boots ``home/supervisord.conf``: the repository's file with only its ``[include]`` line
made absolute and extended by ``home/conf.d/*.conf``. Without it, the repository's file runs as is.

What a test expects to see running comes from the same conf files (``declared_names()``,
``declared_groups()``), never from a list in the test: a team's added program file
(``conf/supervisord.d/links.conf``) is then expected by every test without a change to one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xmlrpc.client
from pathlib import Path
from types import TracebackType
from typing import Any

from config.programs import ProgramProcess, program_processes
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


VENV_BIN = Path(sys.executable).parent


class Stack:
    """supervisord plus every program, on free ports, in ``home``; shut down and checked gone."""

    def __init__(
        self,
        home: Path,
        *,
        env: dict[str, str] | None = None,
        workers: int | None = None,
        extra_programs: str | None = None,
        frontend: bool = True,
    ) -> None:
        self.home = home
        self.extra_programs = extra_programs
        self.api_port = free_port()
        self.frontend_port = free_port()
        self._write_overrides(frontend=frontend, workers=workers)
        # The example workers' processes (worker_0 ...): as the conf declares them, or ``workers``.
        self.workers = sum(p.group == "worker" for p in self.declared())
        # Every process whose health port is WORKER_HEALTH_PORT + its number (the example workers, a
        # team's worker with numprocs_start = 50) gets a free port: the run is as long as the highest.
        self.worker_port = free_port(count=max(self.workers, self._worker_port_span()))
        self.socket = home / "var" / "run" / "supervisor.sock"
        self.env = {
            **os.environ,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "API_PORT": str(self.api_port),
            "FRONTEND_PORT": str(self.frontend_port),
            "WORKER_HEALTH_PORT": str(self.worker_port),
            "JWT_SECRET": "test-secret-" + os.urandom(32).hex(),
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            **(env or {}),
        }
        # The tools read the programs' conf files (health_check) from the file supervisord runs: the
        # home has no supervisord.conf of its own (config finds nothing in the source tree).
        config = home / "supervisord.conf" if extra_programs else REPO / "supervisord.conf"
        self.env.setdefault("SUPERVISOR_CONFIG", str(config))
        self.started = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}"

    def worker_url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.worker_port + n}"

    @property
    def ports(self) -> list[int]:
        return [self.api_port, self.frontend_port, *(self.worker_port + i for i in range(self.workers))]

    def run(self, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a command from the stack's home with the stack's environment."""
        return subprocess.run(
            list(args),
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def start(self) -> Stack:
        for sub in ("var/run", "logs"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self.run(str(VENV_BIN / "supervisord"), "-c", str(self._config_file()), check=True)
        self.started = True
        wait_until(self.socket.exists, timeout=20, message="supervisord's socket")
        return self

    @property
    def config_file(self) -> Path:
        """The supervisord.conf this stack boots (written into its home when it has extra programs)."""
        return self.home / "supervisord.conf" if self.extra_programs else REPO / "supervisord.conf"

    def declared(self) -> list[ProgramProcess]:
        """Every process this stack's conf files declare, in name order: the repository's program
        files (a team's added ones included), the test's extra programs, and the shape file bin/run
        wrote into its home. What supervisord's process list holds once it runs them."""
        return program_processes(self._config_file(), self.home)

    def declared_names(self) -> list[str]:
        """The process names the conf declares, sorted: ``api``, ``frontend``, ``worker_0``, ..."""
        return [p.name for p in self.declared()]

    def declared_groups(self) -> list[str]:
        """The program (group) names, sorted: what the tools list as "known" for an unknown name."""
        return sorted({p.group for p in self.declared()})

    OVERRIDES = Path("var") / "supervisord.d" / "test-stack.conf"

    def _write_overrides(self, *, frontend: bool, workers: int | None) -> None:
        """The home's own include (read last: it changes the sections the program files declared)."""
        lines = []
        if not frontend:
            lines += ["[program:frontend]", "; this test never touches the frontend", "numprocs = 0", ""]
        if workers is not None:
            lines += ["[program:worker]", f"numprocs = {workers}", ""]
        if lines:
            path = self.home / self.OVERRIDES
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("; written by tests/support/stack.py for this test's stack\n" + "\n".join(lines))

    def _worker_port_span(self) -> int:
        numbers = [
            p.process_num
            for p in program_processes(self._config_file(), self.home)
            if any("{WORKER_HEALTH_PORT+process_num}" in url for url in p.options.values())
        ]
        return max(numbers, default=-1) + 1

    def _config_file(self) -> Path:
        if not self.extra_programs:
            return REPO / "supervisord.conf"
        (self.home / "conf.d").mkdir(parents=True, exist_ok=True)
        (self.home / "conf.d" / "extra.conf").write_text(self.extra_programs)
        text = (REPO / "supervisord.conf").read_text()
        include = "files = conf/supervisord.d/*.conf"
        assert include in text, "supervisord.conf's [include] changed: update Stack._config_file"
        config = self.home / "supervisord.conf"
        config.write_text(
            text.replace(include, f"files = {REPO}/conf/supervisord.d/*.conf {self.home}/conf.d/*.conf")
        )
        return config

    def rpc(self) -> Any:
        # ops' transport: supervisor's, one connection per call (supervisor's own keeps one open and
        # leaves it to the garbage collector, which the suite reports as a ResourceWarning).
        from ops.rpc import SupervisorTransport

        transport = SupervisorTransport(f"unix://{self.socket}", timeout=60)
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def process_info(self) -> list[dict[str, Any]]:
        return self.rpc().supervisor.getAllProcessInfo()

    def wait_running(self, timeout: float = 90) -> list[dict[str, Any]]:
        def all_running() -> list[dict[str, Any]] | None:
            infos = self.process_info()
            bad = [p for p in infos if p["statename"] in ("FATAL", "EXITED", "BACKOFF")]
            if bad:
                raise AssertionError(
                    f"programs failed: {[(p['name'], p['statename']) for p in bad]}\n" + self.log_tails()
                )
            return infos if infos and all(p["statename"] == "RUNNING" for p in infos) else None

        # Every poll is a call supervisord serves on its one thread: a few a second, not twenty.
        return wait_until(
            all_running,
            timeout=timeout,
            interval=0.2,
            message=lambda: "all programs RUNNING\n" + self.log_tails(),
        )

    def wait_healthy(self, timeout: float = 120) -> None:
        """Wait until every program is RUNNING *and* answers its health check (RUNNING only means
        "alive for startsecs": gunicorn or Vite may not listen yet). Same check as bin/monitor.py."""
        from config.config import load
        from ops.rpc import SupervisorClient
        from ops.status import collect_status

        settings = load({k: v for k, v in self.env.items() if k.isupper()}, environ={})
        client = SupervisorClient(str(self.socket))

        def report() -> str:
            from ops.render import plain_table

            table = plain_table(collect_status(client, settings))
            return f"every program healthy\n{table}\n{self.log_tails()}"

        wait_until(
            lambda: collect_status(client, settings).healthy, timeout=timeout, interval=0.3, message=report
        )

    def log_tails(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.home / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        if not self.started:
            return
        try:
            self.rpc().supervisor.shutdown()
        except (OSError, xmlrpc.client.Fault):
            pass
        marker = str(self.home)
        # Each look reads every process's command line and environment (~20 ms of CPU): a few a second.
        wait_until(
            lambda: not processes_mentioning(marker),
            timeout=60,
            interval=0.25,
            message=lambda: f"stack processes to exit: {processes_mentioning(marker)}",
        )
        wait_until(
            lambda: all(port_is_free(p) for p in self.ports),
            timeout=20,
            message=lambda: f"ports {self.ports} to be free",
        )
        self.started = False

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

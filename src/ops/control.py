"""Starting supervisord and its programs, restarting, and waiting until programs are healthy.

Clock and sleep are passed in so tests of the waiting logic need no real time.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from config.config import supervisor_config_problem
from ops.errors import BadInput, OpsError, ProgramFailed, SupervisorUnreachable, UnknownProgram
from ops.rpc import SupervisorClient
from ops.status import FAILED_STATES, RUNNING, ProcessStatus, StackStatus, collect_status

if TYPE_CHECKING:
    from config.config import Settings

Progress = Callable[[StackStatus, float], None]
Say = Callable[[str], None]


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def log_end(client: SupervisorClient, process: ProcessStatus, lines: int = 15) -> str:
    """The last ``lines`` lines of a process's log (stdout, or stderr when stdout is not kept)."""
    channel = "stdout" if process.stdout_logfile else "stderr"
    try:
        data, _, _ = client.tail(process.full_name, 0, 8192, channel=channel)
    except SupervisorUnreachable:
        raise
    except OpsError as exc:  # the log is a hint: its absence must not hide the failure itself
        return f"(log unavailable: {exc})"
    text = data.decode("utf-8", "replace").splitlines()[-lines:]
    return "\n".join(text) if text else "(log is empty)"


def failure_detail(client: SupervisorClient, process: ProcessStatus) -> str:
    """Why a process failed: supervisord's spawn error, else the end of its log."""
    parts = [f"{process.name}: {process.state} - {process.problem}"]
    if not process.spawnerr or process.spawnerr.startswith("Exited too quickly"):
        parts.append(f"--- end of {process.name}'s log:\n{log_end(client, process)}")
    return "\n".join(parts)


def supervisorctl_is_up(client: SupervisorClient) -> bool:
    try:
        client.call("supervisor.getState")
        return True
    except SupervisorUnreachable as exc:
        if exc.exit_code != 2:
            raise  # access denied: starting a second supervisord would not help
        return False


def ensure_supervisord(
    client: SupervisorClient,
    settings: Settings,
    *,
    supervisord: str,
    config_file: str,
    clock: Clock | None = None,
    timeout: float = 30.0,
) -> bool:
    """Start ``supervisord -c config_file`` from the stack home unless it runs; True if started."""
    if supervisorctl_is_up(client):
        return False
    clock = clock or Clock()
    home = Path(settings.APP_HOME)
    for directory in (
        Path(settings.SUPERVISOR_SOCKET).parent,
        Path(settings.LOG_DIR),
        Path(settings.VAR_DIR),
    ):
        directory.mkdir(parents=True, exist_ok=True)
    if not Path(config_file).is_file():
        raise BadInput(supervisor_config_problem(settings) or f"{config_file} does not exist")
    # The programs find the home from APP_HOME (the Vite dev server runs in src/frontend).
    env = {**os.environ, "APP_HOME": str(home)}
    done = subprocess.run(  # noqa: S603 - fixed argv: supervisord and our config file
        [supervisord, "-c", config_file], cwd=home, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        why = reason[-1] if reason else f"exit status {done.returncode}"
        raise SupervisorUnreachable(f"supervisord failed to start: {why}")
    deadline = clock.now() + timeout
    while not supervisorctl_is_up(client):
        if clock.now() > deadline:
            raise SupervisorUnreachable(
                f"supervisord started but its socket {client.socket_path} did not answer within {timeout:g}s"
            )
        clock.sleep(0.1)
    return True


def resolve(status: StackStatus, names: Iterable[str]) -> list[ProcessStatus]:
    """The processes named (process, group:process or group); unknown names raise."""
    found: list[ProcessStatus] = []
    for name in names:
        matches = status.find(name)
        if not matches:
            raise UnknownProgram(name, sorted({p.group for p in status.processes}))
        found.extend(m for m in matches if m not in found)
    return found


def restart_candidates(status: StackStatus) -> list[ProcessStatus]:
    """What ``--restart`` without names restarts: failed, exited, or RUNNING but not live (its
    liveness check fails). One that is live but not ready (the API with its database away) is left
    alone: a restart cannot bring a dependency back. Name it to restart it anyway."""
    return [p for p in status.processes if p.state in FAILED_STATES or (p.state == RUNNING and not p.live)]


def start_all(client: SupervisorClient) -> None:
    """Ask supervisord to start every program that is not running (without waiting)."""
    client.call("supervisor.startAllProcesses", False)


def continue_process_group(client: SupervisorClient, process: ProcessStatus) -> None:
    """SIGCONT the process's whole group (supervisord's children lead their own group).

    supervisord's ``signalProcess`` reaches only the leader: gunicorn's stopped workers would keep
    the master waiting its graceful timeout. We share the host with supervisord (unix socket), so
    signal the group directly, and fall back to supervisord when we may not.
    """
    import os
    import signal

    if client.remote_host is not None:  # its pids are another host's: only supervisord may signal
        client.signal(process.full_name, "CONT")
        return
    try:
        os.killpg(process.pid, signal.SIGCONT)
    except (PermissionError, ProcessLookupError):
        client.signal(process.full_name, "CONT")


def stop(
    client: SupervisorClient,
    processes: list[ProcessStatus],
    *,
    clock: Clock | None = None,
    stop_timeout: float = 90.0,
) -> None:
    """Stop each process and wait until none is STOPPING; a hung (SIGSTOPped) one is continued first.

    Without the SIGCONT a stopped process ignores SIGTERM and supervisord waits ``stopwaitsecs``
    before its SIGKILL.
    """
    clock = clock or Clock()
    names = [p.full_name for p in processes]
    for p in processes:
        if p.state in (RUNNING, "STARTING"):
            continue_process_group(client, p)
            client.stop(p.full_name, wait=False)
        elif p.state == "BACKOFF":
            client.stop(p.full_name, wait=False)  # BACKOFF -> STOPPED at once
    deadline = clock.now() + stop_timeout
    while True:
        _, infos = client.snapshot()
        states = {ProcessStatus.from_info(i, None).full_name: i["statename"] for i in infos}
        pending = [n for n in names if states.get(n) == "STOPPING"]
        if not pending:
            return
        if clock.now() > deadline:
            raise ProgramFailed(f"{', '.join(pending)} did not stop within {stop_timeout:g}s")
        clock.sleep(0.1)


def start(client: SupervisorClient, processes: list[ProcessStatus]) -> None:
    """Ask supervisord to start each process that is not running or starting (without waiting)."""
    for p in processes:
        if p.state not in (RUNNING, "STARTING"):
            client.start(p.full_name, wait=False)


def restart(
    client: SupervisorClient,
    processes: list[ProcessStatus],
    *,
    clock: Clock | None = None,
    stop_timeout: float = 90.0,
) -> None:
    """Stop (if needed) then start each process (see :func:`stop`)."""
    stop(client, processes, clock=clock, stop_timeout=stop_timeout)
    for p in processes:
        client.start(p.full_name, wait=False)


def wait_healthy(
    client: SupervisorClient,
    settings: Settings,
    names: list[str] | None,
    *,
    timeout: float,
    progress: Progress | None = None,
    clock: Clock | None = None,
    interval: float = 0.5,
) -> StackStatus:
    """Poll until the named processes (default all) are RUNNING and healthy.

    A FATAL process fails at once with its spawn error or the end of its log; BACKOFF is given the
    chance to recover until the deadline. Raises :class:`ProgramFailed`.
    """
    clock = clock or Clock()
    started = clock.now()
    while True:
        status = collect_status(client, settings, probe_timeout=min(settings.HEALTH_PROBE_TIMEOUT, 2.0))
        targets = [p for p in status.processes if names is None or p.full_name in names]
        elapsed = clock.now() - started
        if progress:
            progress(status, elapsed)
        if targets and all(p.healthy for p in targets):
            return status
        fatal = [p for p in targets if p.state == "FATAL"]
        if fatal:
            raise ProgramFailed(
                f"{', '.join(p.name for p in fatal)} failed to start",
                detail="\n".join(failure_detail(client, p) for p in fatal),
            )
        if elapsed > timeout:
            bad = [p for p in targets if not p.healthy]
            raise ProgramFailed(
                f"not healthy after {timeout:g}s: {', '.join(p.name for p in bad)}",
                detail="\n".join(failure_detail(client, p) for p in bad),
            )
        clock.sleep(interval)


def restart_and_wait(
    client: SupervisorClient,
    settings: Settings,
    names: list[str],
    *,
    timeout: float,
    say: Say,
    progress: Progress | None = None,
) -> StackStatus | None:
    """``--restart [NAME ...]`` on one supervisord: the named processes, else the failed ones.

    Says what it restarts and why, waits until they are healthy (:class:`ProgramFailed` if not) and
    returns the status afterwards; None when there was nothing to restart.
    """
    status = collect_status(client, settings)
    targets = resolve(status, names) if names else restart_candidates(status)
    if not targets:
        waiting = [p for p in status.processes if not p.healthy]
        if waiting:
            say(
                "nothing to restart: "
                + ", ".join(f"{p.name} is alive but not ready ({p.problem})" for p in waiting)
                + "; a restart would not help"
            )
            return None
        say(f"nothing to restart: all {len(status.processes)} processes are RUNNING and healthy")
        return None
    for p in targets:
        say(f"restarting {p.name} ({p.state}{': ' + p.problem if p.problem else ''})")
    restart(client, targets)
    wait_healthy(client, settings, [p.full_name for p in targets], timeout=timeout, progress=progress)
    say(f"restarted {', '.join(p.name for p in targets)}: healthy")
    return collect_status(client, settings)


def restart_itself(client: SupervisorClient, process: ProcessStatus) -> None:
    """Restart the program this code runs in: a graceful TERM, and supervisord starts it again.

    A stop through supervisord would end this process before it could ask for the start; a TERM
    lets it finish what it is doing (answer the request) and exit, and supervisord's
    ``autorestart = true`` (conf/supervisord.d/api.conf) starts a new one.
    """
    client.signal(process.full_name, "TERM")


def supervisord_command(settings: Settings) -> tuple[str, str]:
    """(supervisord executable, config file): the project's venv and SUPERVISOR_CONFIG."""
    import sys

    return str(Path(sys.executable).parent / "supervisord"), settings.SUPERVISOR_CONFIG

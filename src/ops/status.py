"""The status model: every supervisord process with its state and health, and how to collect it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ops.checks import HealthChecks, declared_checks
from ops.errors import BadInput
from ops.probe import ProbeResult, probe_all
from ops.rpc import SupervisorClient

if TYPE_CHECKING:
    from config.config import Settings

RUNNING = "RUNNING"
FAILED_STATES = frozenset({"FATAL", "BACKOFF", "EXITED", "UNKNOWN"})


@dataclass
class ProcessStatus:
    """One supervisord process as an operator sees it."""

    name: str
    group: str
    state: str
    pid: int
    started_at: int
    now: int
    exitstatus: int
    spawnerr: str
    description: str
    stdout_logfile: str = ""
    stderr_logfile: str = ""
    health_url: str | None = None
    health: ProbeResult | None = None
    # Its liveness check (the health listener restarts on this one only); the same URL as
    # health_url for a program that declares no liveness_check.
    liveness_url: str | None = None
    liveness: ProbeResult | None = None
    # A health_check / liveness_check that cannot be filled (an unknown placeholder): not probed.
    check_error: str | None = None
    # Seconds since the youngest process of its tree (the program and its children) started, when
    # the health listener looked (it only looks while the liveness check fails): a reload forks
    # new workers, so a young process means "starting or reloading", not "hung".
    newest_process_age: float | None = None

    @classmethod
    def from_info(cls, info: dict[str, Any], url: str | None) -> ProcessStatus:
        return cls(
            name=info["name"],
            group=info["group"],
            state=info["statename"],
            pid=info["pid"],
            started_at=info["start"],
            now=info["now"],
            exitstatus=info["exitstatus"],
            spawnerr=info.get("spawnerr", ""),
            description=info.get("description", ""),
            stdout_logfile=info.get("stdout_logfile", ""),
            stderr_logfile=info.get("stderr_logfile", ""),
            health_url=url,
        )

    @property
    def full_name(self) -> str:
        """The name supervisord's calls accept for exactly this process."""
        return self.name if self.group == self.name else f"{self.group}:{self.name}"

    @property
    def uptime_seconds(self) -> int | None:
        return max(0, self.now - self.started_at) if self.state == RUNNING and self.started_at else None

    @property
    def healthy(self) -> bool:
        """RUNNING, and answering its health check when it declares one."""
        return self.state == RUNNING and self.check_error is None and (self.health is None or self.health.ok)

    @property
    def live(self) -> bool:
        """RUNNING, and answering its liveness check when it declares one: a restart could not help.
        (A program whose dependency is away is live but not healthy.)"""
        return self.state == RUNNING and (self.liveness is None or self.liveness.ok)

    @property
    def problem(self) -> str:
        """Why this process is not healthy, in one phrase ('' when it is)."""
        if self.healthy:
            return ""
        if self.check_error is not None:
            return self.check_error
        if self.state == RUNNING and self.health is not None:
            return f"health check failed: {self.health.summary()}"
        if self.spawnerr:
            return self.spawnerr
        if self.state == "EXITED":
            return f"exited with status {self.exitstatus}"
        return self.description or self.state

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "state": self.state,
            "pid": self.pid or None,
            "uptime_seconds": self.uptime_seconds,
            "exitstatus": self.exitstatus,
            "spawnerr": self.spawnerr or None,
            "description": self.description,
            "healthy": self.healthy,
            "health_url": self.health_url,
            "health": self.health.to_dict() if self.health else None,
            "liveness_url": self.liveness_url,
            "live": self.live,
        }


@dataclass
class StackStatus:
    """supervisord's own state plus every process. ``exit_code``: 0 all healthy, 1 otherwise."""

    supervisord_state: str
    processes: list[ProcessStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return (
            self.supervisord_state == RUNNING
            and bool(self.processes)
            and all(p.healthy for p in self.processes)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def unhealthy(self) -> list[ProcessStatus]:
        return [p for p in self.processes if not p.healthy]

    def find(self, name: str) -> list[ProcessStatus]:
        """Processes matching ``name``: a process name, ``group:name``, or a group name."""
        return [p for p in self.processes if name in (p.name, p.full_name, p.group, f"{p.group}:*")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "supervisord": self.supervisord_state,
            "healthy": self.healthy,
            "processes": [p.to_dict() for p in self.processes],
        }


def on_host(url: str | None, host: str | None) -> str | None:
    """A health URL moved to ``host``: every host runs the same stack layout on the same ports."""
    if url is None or host is None:
        return url
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    netloc = f"[{host}]{port}" if ":" in host else f"{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def collect_status(
    client: SupervisorClient,
    settings: Settings,
    *,
    probe: bool = True,
    probe_timeout: float | None = None,
    checks: HealthChecks | None = None,
    liveness_only: bool = False,
) -> StackStatus:
    """One XML-RPC round trip for every process, then (``probe``) every health probe in parallel.

    Health URLs come from the programs' conf files (:mod:`ops.checks`); a remote host's are moved
    to that host. Without ``probe`` the URLs are filled in but nothing is probed; with
    ``liveness_only`` (the health listener) only the liveness URLs are (``health`` stays None for a
    program whose readiness URL differs).
    """
    state, infos = client.snapshot()
    checks = checks or declared_checks(settings)
    host = client.remote_host
    processes = []
    for info in infos:
        p = ProcessStatus.from_info(info, None)
        try:
            p.health_url = on_host(checks.url(settings, p.name), host)
            p.liveness_url = on_host(checks.liveness_url(settings, p.name), host)
        except BadInput as exc:  # this program's declaration only: the others are still checked
            p.check_error = str(exc)
        processes.append(p)
    if not probe:
        return StackStatus(state, processes)
    timeout = settings.HEALTH_PROBE_TIMEOUT if probe_timeout is None else probe_timeout
    running = [p for p in processes if p.state == RUNNING]
    wanted = (lambda p: (p.liveness_url,)) if liveness_only else (lambda p: (p.health_url, p.liveness_url))
    urls = [u for p in running for u in wanted(p) if u]
    results = probe_all(urls, timeout=timeout)
    for p in running:
        p.health = results.get(p.health_url) if p.health_url else None
        p.liveness = results.get(p.liveness_url) if p.liveness_url else None
    return StackStatus(state, processes)

"""/api/v1/admin/services: the programs supervisord runs and their health, for admins.

It reads supervisord through ``ops`` (the same status the monitor and ``ctl status`` show). When
supervisord cannot be reached (not running, wrong socket, no permission) the answer is a 503 with
the reason, never a 500. The only change it makes is ``POST .../services/{name}/restart``, which
the frontend sends after the admin confirmed it; it restarts through ``ops.control`` exactly as
``bin/monitor.py --restart NAME`` does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Response
from fastapi import Path as PathParam
from pydantic import BaseModel

from api.audit import Audit, Note
from api.deps import AdminPrincipal, SettingsDep
from api.errors import AUTH_ERROR_RESPONSES, ApiError, ErrorResponse, NotFound
from api.supervisors import HostLabel, client_for
from config.config import Settings
from ops import control
from ops.errors import OpsError, ProgramFailed, SupervisorUnreachable, UnknownProgram
from ops.rpc import SupervisorClient
from ops.status import ProcessStatus, collect_status

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

# An admin page refreshes every few seconds: a hung supervisord must not hold a worker thread long.
RPC_TIMEOUT_SECONDS = 5.0
UNREACHABLE_DOC = "supervisord unreachable (not running, wrong socket or no permission)"
# A restart answers within one request: bounded so a program that will not stop or will not become
# healthy gives its status (not healthy) instead of holding the request past the worker's timeout.
RESTART_STOP_TIMEOUT_SECONDS = 10.0
RESTART_HEALTH_TIMEOUT_SECONDS = 15.0


# supervisord names programs and groups with letters, digits and a little punctuation; anything
# else, or longer, is refused (422) before supervisord is asked, and never echoed back at length.
ProgramName = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.\-]+(:[A-Za-z0-9_.*\-]+)?$",
        description="a program, `group:process` or a group",
    ),
]


class Unavailable(ApiError):
    status_code = 503


class ProbeOut(BaseModel):
    url: str
    ok: bool
    status: int | None
    latency_ms: float
    error: str | None


class WorkerOut(BaseModel):
    """A worker's own report, from its health URL (``workers.health``): what its loop is doing."""

    state: str | None = None
    ready: bool | None = None
    items_processed: int | None = None
    errors_total: int | None = None
    last_error: str | None = None


class ProgramOut(BaseModel):
    name: str
    group: str
    state: str
    pid: int | None
    uptime_seconds: int | None
    description: str
    healthy: bool
    problem: str
    health_url: str | None
    health: ProbeOut | None
    worker: WorkerOut | None = None


class ServicesOut(BaseModel):
    supervisord: str
    healthy: bool
    programs: list[ProgramOut]


def _program(process: ProcessStatus) -> ProgramOut:
    data = process.to_dict()
    return ProgramOut(
        name=data["name"],
        group=data["group"],
        state=data["state"],
        pid=data["pid"],
        uptime_seconds=data["uptime_seconds"],
        description=data["description"],
        healthy=data["healthy"],
        problem=process.problem,
        health_url=data["health_url"],
        health=ProbeOut(**{k: v for k, v in data["health"].items() if k != "report"})
        if data["health"]
        else None,
        worker=_worker(process),
    )


def _worker(process: ProcessStatus) -> WorkerOut | None:
    """A worker's counters when its health answer carries them (the API's own /health does not)."""
    report = process.health.report if process.health else None
    if not report or "items_processed" not in report:
        return None
    fields = WorkerOut.model_fields
    return WorkerOut.model_validate({k: v for k, v in report.items() if k in fields})


@router.get(
    "/services",
    response_model=ServicesOut,
    responses={503: {"model": ErrorResponse, "description": UNREACHABLE_DOC}},
)
def list_services(_admin: AdminPrincipal, settings: SettingsDep) -> ServicesOut:
    """Every supervisord process with its state, uptime and health probe."""
    client = SupervisorClient.from_settings(settings, timeout=RPC_TIMEOUT_SECONDS)
    try:
        status = collect_status(client, settings)
    except OpsError as exc:
        raise Unavailable(f"supervisord unreachable: {exc}") from None
    return ServicesOut(
        supervisord=status.supervisord_state,
        healthy=status.healthy,
        programs=[_program(p) for p in status.processes],
    )


def _serves_this_request(pid: int | None) -> bool:
    """True when ``pid`` is this process or one of its ancestors (the API restarting itself).

    The request would be waiting for its own process to stop: gunicorn would wait for the request
    and nobody would start the program again.
    """
    import os

    if not pid:
        return False
    current = os.getpid()
    for _ in range(16):  # a process tree is shallow; bounded in case /proc lies
        if current == pid:
            return True
        try:
            with open(f"/proc/{current}/stat", encoding="ascii") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if parent <= 1:
            return False
        current = parent
    return False


def outcome_of(action: str, program: ProgramOut, note: Note) -> None:
    """A start or restart that leaves the program unhealthy, or a stop that leaves it running,
    failed: the audit log says so, with the program's state."""
    if action == "stop":
        if program.state not in ("STOPPED", "EXITED", "FATAL"):
            note.failed(f"still {program.state} after the stop")
    elif not program.healthy:
        note.failed(f"{program.state}, not healthy" + (f": {program.problem}" if program.problem else ""))


@router.post(
    "/services/{name}/restart",
    response_model=ProgramOut,
    responses={
        202: {
            "model": ProgramOut,
            "description": "the program serves this API: it is sent a graceful TERM once this answer "
            "is out, and supervisord starts it again; the status is the one before the restart",
        },
        404: {"model": ErrorResponse, "description": "no program or process by that name, or no such host"},
        503: {"model": ErrorResponse, "description": UNREACHABLE_DOC},
    },
)
def restart_service(
    name: ProgramName,
    audit: Audit,
    settings: SettingsDep,
    response: Response,
    background: BackgroundTasks,
    host: HostLabel = None,
) -> ProgramOut:
    """Restart one program (``name``, ``group:name`` or a group) and return its status afterwards.

    Stops it (a hung one is continued first), starts it, and waits up to 15 s for it to be RUNNING
    and healthy; a program that does not get there is returned as it is (``healthy: false`` with
    its ``problem``), not as an error. For a group the first process is returned. A sync route:
    FastAPI runs it in its thread pool, so the wait holds no event loop.

    The program serving the request (``api``) cannot wait for its own restart: the answer is a
    202, and once it is sent the program gets a graceful TERM (``ops.control.restart_itself``);
    supervisord starts it again (``autorestart = true``). Recorded in the audit log. ``host``: on
    that host of SUPERVISOR_SERVERS.
    """
    with audit.action("service.restart", name, host=host) as note:
        program = _restart(name, settings, response, background, host)
        if response.status_code == 202:
            note.detail = "the program serves this API: it restarts once the answer is sent"
        else:
            outcome_of("restart", program, note)
        return program


def _restart(
    name: str, settings: Settings, response: Response, background: BackgroundTasks, host: str | None = None
) -> ProgramOut:
    client = client_for(settings, host, timeout=RPC_TIMEOUT_SECONDS)
    try:
        targets = control.resolve(collect_status(client, settings), [name])
        names = [p.full_name for p in targets]
        # A pid on another host says nothing about this process.
        itself = [p for p in targets if host is None and _serves_this_request(p.pid)]
        if itself:
            background.add_task(_restart_itself, settings, itself[0])
            response.status_code = 202
            return _program(targets[0])
        control.restart(client, targets, stop_timeout=RESTART_STOP_TIMEOUT_SECONDS)
        try:
            status = control.wait_healthy(client, settings, names, timeout=RESTART_HEALTH_TIMEOUT_SECONDS)
        except ProgramFailed:  # the status below says what is wrong
            status = collect_status(client, settings)
    except UnknownProgram as exc:
        raise NotFound(str(exc)) from None
    except SupervisorUnreachable as exc:
        raise Unavailable(f"supervisord unreachable: {exc}") from None
    except OpsError as exc:  # did not stop in time, or supervisord refused a call
        raise Unavailable(f"restart of {name} failed: {exc}") from None
    restarted = [p for p in status.processes if p.full_name in names]
    return _program(restarted[0])


def _restart_itself(settings: Settings, process: ProcessStatus) -> None:
    """After the 202 is sent: the TERM that makes supervisord start this program again."""
    import logging

    client = SupervisorClient.from_settings(settings, timeout=RPC_TIMEOUT_SECONDS)
    try:
        control.restart_itself(client, process)
    except OpsError as exc:  # the answer is out: the log is where this can still be seen
        logging.getLogger("api.admin").error("restart of %s failed: %s", process.full_name, exc)

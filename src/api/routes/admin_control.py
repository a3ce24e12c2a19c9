"""POST /api/v1/admin/services/{name}/start and .../stop: the Services page's start and stop.

``name`` is a program, ``group:name``, or a group (every process in it), resolved by supervisord
through ``ops`` as ``bin/monitor.py`` and ``ctl`` do. The page asks for a confirmation first.

- start: starts what is not running and waits up to 15 s for it to be RUNNING and healthy; a
  program that does not get there is returned as it is (``healthy: false`` with its ``problem``).
- stop: stops (a hung process is continued first so it can see the SIGTERM) and waits up to 10 s.
  Stopping the program that serves this request (``api``) cannot be waited for: supervisord is
  asked to stop it and the answer is a 202 at once; gunicorn finishes this request before it goes.

For a group the first process is returned, as for a restart; the services list shows them all.
Every start and stop is in the audit log (``api.audit``): ok, or failed with why (unknown,
unreachable, or not healthy / not stopped afterwards).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api.audit import Audit, Auditor
from api.deps import SettingsDep
from api.errors import AUTH_ERROR_RESPONSES, ErrorResponse, NotFound
from api.routes.admin import (
    RPC_TIMEOUT_SECONDS,
    UNREACHABLE_DOC,
    ProgramOut,
    Unavailable,
    _program,
    _serves_this_request,
    outcome_of,
)
from api.supervisors import HostLabel, client_for
from config.config import Settings

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

START_HEALTH_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0

ProgramName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="A program, `group:name`, or a group",
    ),
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no program or process by that name, or no such host"},
    503: {"model": ErrorResponse, "description": UNREACHABLE_DOC},
}


def _control(
    settings: Settings, name: str, action: str, response: Response, audit: Auditor, *, host: str | None = None
) -> ProgramOut:
    with audit.action(f"service.{action}", name, host=host) as note:
        program = _run_control(settings, name, action, response, host)
        if response.status_code == 202:
            note.detail = "asked supervisord to stop the program serving this API"
        else:
            outcome_of(action, program, note)
        return program


def _run_control(
    settings: Settings, name: str, action: str, response: Response, host: str | None = None
) -> ProgramOut:
    from ops import control
    from ops.errors import OpsError, ProgramFailed, SupervisorUnreachable, UnknownProgram
    from ops.status import collect_status

    client = client_for(settings, host, timeout=RPC_TIMEOUT_SECONDS)
    try:
        targets = control.resolve(collect_status(client, settings), [name])
        names = [p.full_name for p in targets]
        if action == "stop":
            # A pid on another host says nothing about this process.
            if host is None and any(_serves_this_request(p.pid) for p in targets):
                for p in targets:
                    client.stop(p.full_name, wait=False)
                response.status_code = 202
                return _program(targets[0])
            control.stop(client, targets, stop_timeout=STOP_TIMEOUT_SECONDS)
            status = collect_status(client, settings)
        else:
            control.start(client, targets)
            try:
                status = control.wait_healthy(client, settings, names, timeout=START_HEALTH_TIMEOUT_SECONDS)
            except ProgramFailed:  # the status below says what is wrong
                status = collect_status(client, settings)
    except UnknownProgram:
        raise NotFound(f"no program or process named {name}") from None
    except SupervisorUnreachable as exc:
        raise Unavailable(f"supervisord unreachable: {exc}") from None
    except OpsError as exc:  # did not stop in time, or supervisord refused a call
        raise Unavailable(f"{action} of {name} failed: {exc}") from None
    return _program(next(p for p in status.processes if p.full_name in names))


@router.post(
    "/services/{name}/start",
    response_model=ProgramOut,
    responses=RESPONSES,
)
def start_service(
    name: ProgramName, audit: Audit, settings: SettingsDep, response: Response, host: HostLabel = None
) -> ProgramOut:
    """Start a program (or every process of a group) and return its status once healthy (≤ 15 s);
    ``host``: on that host of SUPERVISOR_SERVERS."""
    return _control(settings, name, "start", response, audit, host=host)


@router.post(
    "/services/{name}/stop",
    response_model=ProgramOut,
    responses={
        **RESPONSES,
        202: {
            "model": ProgramOut,
            "description": "the program serves this API: supervisord was asked to stop it; the status is "
            "the one before the stop",
        },
    },
)
def stop_service(
    name: ProgramName, audit: Audit, settings: SettingsDep, response: Response, host: HostLabel = None
) -> ProgramOut:
    """Stop a program (or every process of a group) and return its status once stopped (≤ 10 s);
    ``host``: on that host of SUPERVISOR_SERVERS."""
    return _control(settings, name, "stop", response, audit, host=host)

"""/api/v1/admin/services: the programs supervisord runs and their health, for admins. Read-only.

It reads supervisord through ``ops`` (the same status the monitor and ``ctl status`` show). When
supervisord cannot be reached (not running, wrong socket, no permission) the answer is a 503 with
the reason, never a 500.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AdminPrincipal, SettingsDep
from api.errors import AUTH_ERROR_RESPONSES, ApiError, ErrorResponse

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

# An admin page refreshes every few seconds: a hung supervisord must not hold a worker thread long.
RPC_TIMEOUT_SECONDS = 5.0
UNREACHABLE_DOC = "supervisord unreachable (not running, wrong socket or no permission)"


class Unavailable(ApiError):
    status_code = 503


class ProbeOut(BaseModel):
    url: str
    ok: bool
    status: int | None
    latency_ms: float
    error: str | None


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


class ServicesOut(BaseModel):
    supervisord: str
    healthy: bool
    programs: list[ProgramOut]


def _program(process: Any) -> ProgramOut:
    data = process.to_dict()
    return ProgramOut(name=data["name"], group=data["group"], state=data["state"], pid=data["pid"],
                      uptime_seconds=data["uptime_seconds"], description=data["description"],
                      healthy=data["healthy"], problem=process.problem, health_url=data["health_url"],
                      health=ProbeOut(**data["health"]) if data["health"] else None)


@router.get("/services", response_model=ServicesOut,
            responses={503: {"model": ErrorResponse, "description": UNREACHABLE_DOC}})
def list_services(_admin: AdminPrincipal, settings: SettingsDep) -> ServicesOut:
    """Every supervisord process with its state, uptime and health probe."""
    try:
        from ops.errors import OpsError
        from ops.rpc import SupervisorClient
        from ops.status import collect_status
    except ImportError as exc:  # ops is optional for the API: degrade, do not crash
        raise Unavailable(f"supervisord unreachable: ops tools unavailable ({exc})") from None
    client = SupervisorClient.from_settings(settings, timeout=RPC_TIMEOUT_SECONDS)
    try:
        status = collect_status(client, settings)
    except OpsError as exc:
        raise Unavailable(f"supervisord unreachable: {exc}") from None
    return ServicesOut(supervisord=status.supervisord_state, healthy=status.healthy,
                       programs=[_program(p) for p in status.processes])

"""GET /api/v1/admin/hosts: every supervisord of SUPERVISOR_SERVERS with its programs, for admins.

The Services page groups programs by host with this. All hosts are read at once (``ops.hosts``),
each bounded by SUPERVISOR_HOST_TIMEOUT: a host that hangs, refuses the credentials or is not
there is an entry with ``reachable: false`` and the reason (never a 5xx, never a traceback), and
the others show. A host listed twice (the same endpoint, however spelled) is shown once and named
in ``repeated``. Empty ``hosts`` when SUPERVISOR_SERVERS is not set (the page then shows this
machine's supervisord only, from ``GET /api/v1/admin/services``). Actions on a host's programs are
the usual routes with ``?host=LABEL``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import AdminPrincipal, SettingsDep
from api.errors import AUTH_ERROR_RESPONSES, ApiError
from api.routes.admin import ProgramOut, _program
from api.supervisors import configured_hosts
from ops.errors import OpsError
from ops.hosts import collect_hosts

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)


class BadHosts(ApiError):
    status_code = 503


class HostOut(BaseModel):
    label: str = Field(description="`HOST:PORT`, or the socket path: the `host` of the actions.")
    local: bool = Field(description="This machine's own supervisord socket (SUPERVISOR_SOCKET).")
    reachable: bool
    error: str | None = Field(description="Why it could not be read (unreachable, access denied, timeout).")
    supervisord: str | None = Field(description="supervisord's state (RUNNING, ...), when reachable.")
    healthy: bool
    programs: list[ProgramOut]


class HostsOut(BaseModel):
    hosts: list[HostOut]
    repeated: list[str] = Field(description="Hosts listed more than once in SUPERVISOR_SERVERS (shown once).")
    timeout_seconds: float = Field(description="SUPERVISOR_HOST_TIMEOUT: how long one host may take.")


@router.get("/hosts", response_model=HostsOut)
def list_hosts(_admin: AdminPrincipal, settings: SettingsDep) -> HostsOut:
    """Each SUPERVISOR_SERVERS host with its programs' state and health, or why it is unreachable."""
    timeout = settings.SUPERVISOR_HOST_TIMEOUT
    try:
        hosts, repeated = configured_hosts(settings, timeout=timeout)
    except OpsError as exc:  # an entry that is no endpoint: the settings check refuses it at start
        raise BadHosts(f"SUPERVISOR_SERVERS: {exc}") from None
    found = collect_hosts(hosts, settings, every_error=True)
    out = []
    for result in found:
        status = result.status
        out.append(
            HostOut(
                label=result.host.label,
                local=result.host.label == settings.SUPERVISOR_SOCKET,
                reachable=status is not None,
                error=None if result.error is None else str(result.error),
                supervisord=None if status is None else status.supervisord_state,
                healthy=status is not None and status.healthy,
                programs=[] if status is None else [_program(p) for p in status.processes],
            )
        )
        result.host.client.close_quietly()
    return HostsOut(hosts=out, repeated=repeated, timeout_seconds=timeout)

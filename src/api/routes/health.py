"""Liveness and readiness of the API, no authentication.

* ``GET /livez``: liveness. 200 while this process serves HTTP; never touches the database or Redis,
  so a dependency that is away never makes it fail. What supervisord's health listener and
  Kubernetes' livenessProbe restart on: a failing ``/livez`` means a restart can help.
* ``GET /readyz``: readiness. 200 when this process can serve data (the database answers at the
  schema this code needs); 503 with ``reason`` otherwise. Ready again by itself when the database
  is back. What a load balancer (Kubernetes' readinessProbe) routes on; never restart on it.
* ``GET /health``: readiness with the details an operator reads (``ctl status``, the Services
  page): the same 200/503 as ``/readyz``, plus the database, connection pool and rate limiter; 200
  with ``"status": "degraded"`` when only the rate limiter's store (Redis, or the machine's counter
  file) is down: restarting the API would not bring it back.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from api.faults import ThrottledLog, public_reason
from api.readiness import Readiness

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    uptime_seconds: int
    database: dict[str, Any]
    connection_pool: dict[str, Any]
    rate_limiter: dict[str, Any]


class LivezOut(BaseModel):
    status: str
    uptime_seconds: int


class ReadyzOut(BaseModel):
    status: str
    reason: str | None = None


def _uptime(request: Request) -> int:
    return int(time.monotonic() - request.app.state.started_at)


@router.get("/livez", response_model=LivezOut)
async def get_livez(request: Request) -> LivezOut:
    # async and without I/O: answered on the event loop, whatever the database or the thread pool do.
    return LivezOut(status="alive", uptime_seconds=_uptime(request))


@router.get("/readyz", response_model=ReadyzOut, responses={503: {"model": ReadyzOut}})
def get_readyz(request: Request, response: Response) -> ReadyzOut:
    readiness: Readiness = request.app.state.readiness
    problem = readiness.problem()
    if problem is None:
        request.app.state.fault_log.recovered("database", "database reachable again")
        return ReadyzOut(status="ready")
    response.status_code = 503
    return ReadyzOut(status="not ready", reason=problem)


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def get_health(request: Request, response: Response) -> HealthOut:
    db = request.app.state.db
    problem = db.check()
    fault_log: ThrottledLog = request.app.state.fault_log
    database: dict[str, Any] = {"reachable": problem is None, "backend": db.url.get_backend_name()}
    if problem is None:
        fault_log.recovered("database", "database reachable again")
        schema = request.app.state.readiness.schema_problem()
        if schema is not None:
            database["error"] = schema
        status = "healthy" if schema is None else "unhealthy"
    else:
        database["error"] = public_reason(problem)
        status = "unhealthy"
    if status == "unhealthy":
        response.status_code = 503
    limiter = request.app.state.limiter.health()
    if status == "healthy" and limiter["state"] != "ok":
        status = "degraded"
    return HealthOut(
        status=status,
        uptime_seconds=_uptime(request),
        database=database,
        connection_pool=db.pool_status(),
        rate_limiter=limiter,
    )

"""GET /health: liveness of the API, its database and its rate limiter, no authentication.

503 when the database does not answer (with the reason); 200 with ``"status": "degraded"`` when
only the rate limiter's store (Redis, or the machine's counter file) is down: restarting the API
would not bring it back.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from api.faults import ThrottledLog, public_reason

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    uptime_seconds: int
    database: dict[str, Any]
    connection_pool: dict[str, Any]
    rate_limiter: dict[str, Any]


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def get_health(request: Request, response: Response) -> HealthOut:
    db = request.app.state.db
    problem = db.check()
    fault_log: ThrottledLog = request.app.state.fault_log
    database: dict[str, Any] = {"reachable": problem is None, "backend": db.url.get_backend_name()}
    if problem is None:
        fault_log.recovered("database", "database reachable again")
        status = "healthy"
    else:
        database["error"] = public_reason(problem)
        response.status_code = 503
        status = "unhealthy"
    limiter = request.app.state.limiter.health()
    if status == "healthy" and limiter["state"] != "ok":
        status = "degraded"
    return HealthOut(
        status=status,
        uptime_seconds=int(time.monotonic() - request.app.state.started_at),
        database=database,
        connection_pool=db.pool_status(),
        rate_limiter=limiter,
    )

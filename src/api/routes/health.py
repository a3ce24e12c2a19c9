"""GET /health: liveness of the API and its database, no authentication."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    uptime_seconds: int
    database: dict[str, Any]
    connection_pool: dict[str, Any]


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def get_health(request: Request, response: Response) -> HealthOut:
    db = request.app.state.db
    reachable = db.ping()
    if not reachable:
        response.status_code = 503
    return HealthOut(
        status="healthy" if reachable else "unhealthy",
        uptime_seconds=int(time.monotonic() - request.app.state.started_at),
        database={"reachable": reachable, "backend": db.url.get_backend_name()},
        connection_pool=db.pool_status(),
    )

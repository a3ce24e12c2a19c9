"""GET /api/v1/admin/metrics: the API's Prometheus metrics (every gunicorn worker's), for admins.

Prometheus scrapes it with an admin's API key as a bearer token (docs/operations.md, "Metrics");
anyone else gets 401 or 403, as on every admin route. ``API_METRICS=false``: 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import AdminPrincipal
from api.errors import AUTH_ERROR_RESPONSES, NOT_FOUND_RESPONSE, NotFound
from api.metrics import ApiMetrics

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **NOT_FOUND_RESPONSE,
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
    },
)
def read_metrics(request: Request, _admin: AdminPrincipal) -> Response:
    """The API's metrics in Prometheus' text format (requests, latency, in flight, pool, 429s)."""
    metrics: ApiMetrics | None = request.app.state.metrics
    if metrics is None:
        raise NotFound("metrics are off (API_METRICS=false)")
    return Response(
        metrics.exposition(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )

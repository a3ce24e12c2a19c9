"""Health probes kept out of the access log.

The health listener probes the API every few seconds and ``bin/monitor.py`` on every status; their
``GET /health`` lines would fill ``logs/api.log`` (``ctl logs tail api``) with noise. A probe says
who it is (``User-Agent: svcstack-probe``, :data:`ops.probe.PROBE_USER_AGENT`): the middleware marks
such a request, and the filter on uvicorn's access logger drops its line when the answer was a
success. A failing probe (4xx/5xx) is still logged, and so is every other request to ``/health``.

uvicorn writes the access line inside ``send()``, which the app calls from within this middleware's
call, so the mark (a context variable) is visible there.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

from ops.probe import PROBE_USER_AGENT

ACCESS_LOGGER = "uvicorn.access"
_PROBE_AGENT = PROBE_USER_AGENT.encode()
_is_probe: ContextVar[bool] = ContextVar("is_probe", default=False)


class ProbeMarkMiddleware:
    """Marks requests from ops' health probes for :class:`QuietProbes`. Pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        agent = next((v for k, v in scope.get("headers", ()) if k == b"user-agent"), b"")
        token = _is_probe.set(agent == _PROBE_AGENT)
        try:
            await self.app(scope, receive, send)
        finally:
            _is_probe.reset(token)


class QuietProbes(logging.Filter):
    """Drops the access line of a successful probe (uvicorn's args end with the status code)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _is_probe.get():
            return True
        status = record.args[-1] if isinstance(record.args, tuple) and record.args else None
        return not (isinstance(status, int) and status < 400)


_FILTER = QuietProbes()


def quiet_probes_in_access_log() -> None:
    """Install the filter on uvicorn's access logger (once, however many apps are made)."""
    logging.getLogger(ACCESS_LOGGER).addFilter(_FILTER)

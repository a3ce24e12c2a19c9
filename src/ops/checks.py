"""The one declaration of each supervised program's health check, derived from the config ports.

The monitor, ``ctl status`` and the health listener all ask :func:`health_url`; nothing else in the
project spells a health URL of a supervised program.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_WORKER_PROCESS = re.compile(r"worker_(\d+)")


def _connect_host(bind_host: str) -> str:
    # A server bound to every interface is probed on loopback.
    return "127.0.0.1" if bind_host in ("", "0.0.0.0", "::") else bind_host


def _api(settings: Any, process: str) -> str:
    return f"http://{_connect_host(settings.API_HOST)}:{settings.API_PORT}/health"


def _frontend(settings: Any, process: str) -> str:
    return f"http://{_connect_host(settings.FRONTEND_HOST)}:{settings.FRONTEND_PORT}/"


def _worker(settings: Any, process: str) -> str | None:
    match = _WORKER_PROCESS.fullmatch(process)
    if match is None:
        return None
    return f"http://127.0.0.1:{settings.worker_health_port(int(match.group(1)))}/health"


# supervisord group name -> how to build the health URL of one of its processes.
HEALTH_CHECKS: dict[str, Callable[[Any, str], str | None]] = {
    "api": _api,
    "frontend": _frontend,
    "worker": _worker,
}


def health_url(settings: Any, group: str, process: str) -> str | None:
    """The URL that answers 2xx while ``group:process`` is healthy, or None if it declares none."""
    build = HEALTH_CHECKS.get(group)
    return build(settings, process) if build else None

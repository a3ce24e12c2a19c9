"""Whether this API process is shutting down, for responses that would otherwise never end.

gunicorn's graceful stop (and a worker recycled after ``API_MAX_REQUESTS``) waits for every open
response to finish. A log stream never finishes by itself, so it would hold a restart for the whole
``API_GRACEFUL_TIMEOUT`` and then be killed. The worker (``api.http_limits``) calls ``begin()`` as
uvicorn starts its shutdown; long-lived responses check ``draining()`` between sends and end
cleanly, and the page follows again from where it was once the API is back.

One flag per process: a process that began to drain never serves again.
"""

from __future__ import annotations

import threading

_draining = threading.Event()


def begin() -> None:
    _draining.set()


def draining() -> bool:
    return _draining.is_set()

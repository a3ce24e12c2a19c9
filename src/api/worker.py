"""The gunicorn worker class of the API: uvicorn's, without a ``Server`` header.

``Server: uvicorn`` tells an attacker what to look up vulnerabilities for, and helps nobody else.
gunicorn loads it by name (``worker_class`` in conf/gunicorn.conf.py).
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker


class ApiWorker(UvicornWorker):
    CONFIG_KWARGS: dict[str, Any] = {**UvicornWorker.CONFIG_KWARGS, "server_header": False}

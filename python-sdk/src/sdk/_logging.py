"""The SDK's logger: quiet by default; ``APP_SDK_LOG=debug`` (or ``info``) prints to stderr.

What is logged: method, path, status, timing, attempt and the server's request id. Never headers,
bodies, API keys, tokens or passwords.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from sdk._constants import LOG_ENV

logger = logging.getLogger("sdk")
logger.addHandler(logging.NullHandler())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_configured = False


def setup_logging(environ: Mapping[str, str] | None = None) -> None:
    """Attach a stderr handler when the environment asks for it (once per process)."""
    global _configured
    env = os.environ if environ is None else environ
    level = _LEVELS.get(env.get(LOG_ENV, "").strip().lower())
    if level is None or _configured:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    _configured = True

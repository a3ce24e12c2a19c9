"""The SDK's logger: quiet by default; ``APP_SDK_LOG=debug`` (or ``info``) prints to stderr.

One exception to "quiet": a wait longer than ``LONG_WAIT_SECONDS`` (10 s) between retries, such as
a rate limit's ``Retry-After``, is announced by one INFO line even when nothing is configured, so a
call that blocks for a minute does not look hung (:func:`notice`). Silence that too with
``logging.getLogger("sdk").setLevel(logging.WARNING)``.

What is logged: method, path, status, timing, attempt and the server's request id. Never headers,
bodies, API keys, tokens or passwords.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from sdk._constants import LOG_ENV

logger = logging.getLogger("sdk")
logger.addHandler(logging.NullHandler())

_FORMAT = "[%(asctime)s %(name)s %(levelname)s] %(message)s"
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
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    _configured = True


def _shown_by_someone(record: logging.LogRecord) -> bool:
    """Whether a handler on the way up (other than a NullHandler) would take the record."""
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if not isinstance(handler, logging.NullHandler) and record.levelno >= handler.level:
                return True
        current = current.parent if current.propagate else None
    return False


def notice(message: str, *args: Any) -> None:
    """Log ``message`` at INFO through the SDK's logger, shown even when logging is not configured.

    Configured to show INFO (``APP_SDK_LOG``, or the application's own logging): an ordinary
    ``logger.info``. Otherwise the record still goes through the logger's handlers (and its
    parents'), and to stderr when none would show it, unless the application set the ``sdk``
    logger itself above INFO, which is respected.
    """
    if logger.isEnabledFor(logging.INFO):
        logger.info(message, *args)
        return
    if logger.level > logging.INFO or logger.disabled:
        return  # the application silenced the SDK on purpose
    record = logger.makeRecord(logger.name, logging.INFO, "(sdk)", 0, message, args, None)
    if _shown_by_someone(record):
        logger.handle(record)
        return
    fallback = logging.StreamHandler(sys.stderr)  # the stderr of now (Jupyter replaces it)
    fallback.setFormatter(logging.Formatter(_FORMAT))
    fallback.handle(record)

"""One logging configuration for every program: the API (and gunicorn's own logs), the workers, the
health listener and ``ctl``.

    from config.logsetup import configure
    configure(settings, program="worker")            # at a program's start, once

    logconfig_dict = logging_config(settings, program="api")   # gunicorn.conf.py: gunicorn applies it

``LOG_FORMAT=json`` (the production default) writes one JSON object a line: ``time``, ``level``,
``logger``, ``program``, ``pid``, ``message``, ``request_id`` inside an API request, the fields of an
access line (``client``, ``method``, ``path``, ``status``) and ``exc_info`` for a traceback. ``text``
(the development default) writes ``time LEVEL logger[pid] request_id=...: message``. Every line goes
to stderr: supervisord files it in the program's log, and the health listener's stdout stays free for
supervisord's event protocol.

Nothing a user sends reaches a line unescaped: JSON escapes control characters itself; the text
format writes newlines, ANSI escapes and other control characters of a message as ``\\n``, ``\\x1b``
(one record is one line, and a terminal showing the log obeys no escape a client sent). A traceback
(ours, not the client's) keeps its lines in the text format.

The request id lives in :data:`request_id_var`: the API's request-id middleware sets it for the
length of a request, and :class:`RequestIdFilter` (on every handler) copies it onto each record.
"""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from config.config import Settings

# The id of the API request being handled in this context (None outside a request).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Libraries whose INFO lines would drown a log (httpx logs every request, idle polls too; alembic
# its plugins whenever the API reads the schema's head).
QUIET_LOGGERS = ("httpx", "httpcore", "alembic")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """Control characters (newline, ESC, ...) as visible escapes: ``"a\\nb"`` -> ``a\\\\nb``."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the API request being handled, else None) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


# uvicorn's access line: '%s - "%s %s HTTP/%s" %d' % (client, method, path, http_version, status)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    if record.name in ACCESS_LOGGERS and isinstance(record.args, tuple) and len(record.args) == 5:
        return dict(zip(_ACCESS_FIELDS, record.args, strict=True))
    return {}


class TextFormatter(logging.Formatter):
    """``2026-01-01 12:00:00,000 INFO api.errors[123] request_id=ab12: message``, control
    characters escaped."""

    def __init__(self, program: str = "") -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s[%(process)d]%(rid)s: %(message)s")
        self.program = program

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        request_id = getattr(record, "request_id", None)
        values = {**record.__dict__, "message": escape(record.message)}
        values["rid"] = f" request_id={escape(request_id)}" if request_id else ""
        return self._style._fmt % values if self._style._fmt else values["message"]


class JsonFormatter(_JsonFormatter):
    """One JSON object a line (python-json-logger), with the access line's fields split out."""

    def __init__(self, program: str = "") -> None:
        super().__init__(
            "%(levelname)s %(name)s %(process)d %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
            timestamp="time",  # ISO 8601, UTC
            static_fields={"program": program} if program else None,
            json_ensure_ascii=True,
        )

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        if log_record.get("request_id", "") is None:
            del log_record["request_id"]
        log_record.pop("color_message", None)  # uvicorn's copy of the message with ANSI colours
        log_record.update(_access_fields(record))


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def logging_config(
    settings: Settings,
    *,
    program: str,
    level: str | None = None,
    levels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``dictConfig`` of a program: one stderr handler in LOG_FORMAT on the root logger (and on
    gunicorn's and uvicorn's loggers, which do not propagate). ``level``: the root's (default
    LOG_LEVEL); ``levels``: other loggers' levels, e.g. ``{"workers": "DEBUG"}``. The access loggers
    write nothing with API_ACCESS_LOG=false."""
    fmt = settings.LOG_FORMAT
    root_level = (level or settings.LOG_LEVEL).upper()
    own: dict[str, dict[str, Any]] = {name: {"level": "WARNING"} for name in QUIET_LOGGERS}
    # gunicorn's and uvicorn's loggers have handlers of their own (uvicorn's worker copies
    # gunicorn's onto them): the same one handler, no propagation, or each line would be written twice.
    for name in ("gunicorn.error", "gunicorn.access", "uvicorn.error", "uvicorn.access"):
        own[name] = {"level": "INFO", "handlers": ["stderr"], "propagate": False}
    own["gunicorn.error"]["level"] = root_level
    # psycopg's pool warns at every failed (re)connection attempt and discarded connection; the API
    # reports an outage itself, once per interval (api.faults). Its errors still show.
    own["psycopg.pool"] = {"level": "ERROR"}
    if not settings.API_ACCESS_LOG:
        for name in ACCESS_LOGGERS:
            own[name] = {"level": "WARNING", "handlers": [], "propagate": False}
    for name, value in (levels or {}).items():
        own[name] = {**own.get(name, {}), "level": value.upper()}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": {"()": FORMATTERS[fmt], "program": program}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request_id"],
            }
        },
        "root": {"level": root_level, "handlers": ["stderr"]},
        "loggers": own,
    }


def configure(
    settings: Settings,
    *,
    program: str,
    level: str | None = None,
    levels: dict[str, str] | None = None,
) -> None:
    """Apply :func:`logging_config` to this process (replacing any handler set before)."""
    logging.config.dictConfig(logging_config(settings, program=program, level=level, levels=levels))

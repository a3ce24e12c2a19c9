"""Bounds on the request line and headers, enforced while the bytes arrive: the uvicorn worker we serve with.

uvicorn's httptools parser has no header size limit (a 50 MB header is buffered and answered 200),
and gunicorn's ``limit_request_*`` settings do not reach a uvicorn worker. So gunicorn runs
:class:`BoundedUvicornWorker`, whose HTTP protocol (httptools, as before) counts what it is fed:

- the request line (method and target) above ``API_MAX_REQUEST_LINE_BYTES`` is a 414;
- one header (name and value) above ``API_MAX_HEADER_BYTES``, or all headers of a request above
  ``API_MAX_HEADERS_TOTAL_BYTES``, is a 431;
- a request line and headers not complete ``API_HEADER_TIMEOUT`` seconds after the request's first
  byte (or after connecting, for a connection that sends nothing) is a 408, and the connection is
  closed (a silent one is just closed). Neither uvicorn nor gunicorn's uvicorn worker has such a
  timeout (uvicorn's ``timeout_keep_alive`` runs only between requests), so a client trickling a
  byte every few seconds would hold its connection for ever. One timer on the event loop per
  connection (``loop.call_later``): no thread.

The answer goes out as soon as a bound is crossed (at most one read, 256 KiB, past it), in the
API's error shape with ``Connection: close``, and the rest is never read. Other malformed requests
get uvicorn's 400, in the same shape.

    gunicorn -k api.http_limits.BoundedUvicornWorker api.app:app      (conf/gunicorn.conf.py does)

gunicorn's master loads the worker class, so this module imports nothing of the app but ``config``
at import time: whatever the master imports stays at its old version in workers forked after a
reload (HUP). A change to this module itself needs a restart of the API, not a reload.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from config.config import ConfigError, Settings, get_settings

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}
# Deeper metadata cannot be answered: pydantic refuses to serialize past about 250 levels.
MAX_METADATA_DEPTH_CEILING = 128


@dataclass(frozen=True)
class HeaderLimits:
    request_line: int
    header: int
    headers_total: int
    header_timeout: float = 30.0  # seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> HeaderLimits:
        return cls(
            request_line=settings.API_MAX_REQUEST_LINE_BYTES,
            header=settings.API_MAX_HEADER_BYTES,
            headers_total=settings.API_MAX_HEADERS_TOTAL_BYTES,
            header_timeout=settings.API_HEADER_TIMEOUT,
        )


def check_input_limits(settings: Settings) -> None:
    """Refuse input bounds that would break the API's own requests or answers."""
    minimums = {
        "API_MAX_REQUEST_LINE_BYTES": 256,
        "API_MAX_HEADER_BYTES": 256,
        "API_MAX_HEADERS_TOTAL_BYTES": 1024,
        "API_MAX_METADATA_BYTES": 2,
        "API_MAX_METADATA_DEPTH": 1,
    }
    for name, minimum in minimums.items():
        value = getattr(settings, name)
        if value < minimum:
            raise ConfigError(f"setting {name}={value}: must be at least {minimum}")
    if settings.API_MAX_METADATA_DEPTH > MAX_METADATA_DEPTH_CEILING:
        raise ConfigError(
            f"setting API_MAX_METADATA_DEPTH={settings.API_MAX_METADATA_DEPTH}: must be at most "
            f"{MAX_METADATA_DEPTH_CEILING} (deeper values cannot be serialized in answers)"
        )


def error_reply(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 error response in the API's error shape, closing the connection."""
    from api.errors import code_for  # at call time: the master must not import the app

    request_id = uuid.uuid4().hex
    error = {"code": code_for(status), "message": message, "details": [], "request_id": request_id}
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status} ".encode() + _REASONS.get(status, b"Error") + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"x-request-id: " + request_id.encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; httptools re-raises it as a parser error."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounds on the request line and headers (see module doc)."""

    limits: ClassVar[HeaderLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True  # between requests or inside a request's head
        self._head_bytes = 0  # bytes received while awaiting headers
        self._headers_size = 0
        self._refusal: tuple[int, str] | None = None
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._awaiting_headers or self._refusal is not None:
            return
        if self._head_bytes == 0:  # connected and silent: nothing to answer
            self.transport.close()
            return
        self._refuse(408, f"request headers not received within {self.limits.header_timeout:g} s")
        self._send_refusal()

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # answered and closing: read nothing more
        if self._awaiting_headers:
            if self._header_timer is None:  # the first byte of a request after a keep-alive wait
                self._start_header_timer()
            self._head_bytes += len(data)
        super().data_received(data)
        # httptools buffers an unfinished header itself: bound what it may hold between callbacks.
        if self._refusal is None and self._awaiting_headers and self._head_bytes > self.limits.headers_total:
            self._refuse(431, f"request headers larger than {self.limits.headers_total} bytes")
            self._send_refusal()

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)

    def _send_refusal(self) -> None:
        assert self._refusal is not None  # noqa: S101 - narrowing: called only once a refusal is set
        status, message = self._refusal
        self.logger.warning("refused a request: %s %s", status, message)
        self.transport.write(error_reply(status, message))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers parser errors here; a bound crossed in a callback surfaces as one.
        if self._refusal is None:
            self._refuse(400, "malformed HTTP request")
        self._send_refusal()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._headers_size = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.request_line:
            self._refuse(414, f"request line longer than {self.limits.request_line} bytes")
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._headers_size += size + 4  # ": " and CRLF
        if size > self.limits.header:
            self._refuse(431, f"a request header is larger than {self.limits.header} bytes")
            raise _Refused
        if self._headers_size > self.limits.headers_total:
            self._refuse(431, f"request headers larger than {self.limits.headers_total} bytes")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True
        self._head_bytes = 0

    def shutdown(self) -> None:
        # uvicorn's shutdown (a stop, or the worker recycled) asks each open connection to finish:
        # open log streams end now instead of holding the drain (api.draining).
        from api import draining  # at call time: the master must not import the app

        draining.begin()
        super().shutdown()


def bounded_protocol(limits: HeaderLimits) -> type[BoundedHttpToolsProtocol]:
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"limits": limits})


class BoundedUvicornWorker(UvicornWorker):
    """The uvicorn worker for gunicorn, serving with :class:`BoundedHttpToolsProtocol` and without a
    ``Server`` header (``Server: uvicorn`` tells an attacker what to look up, and helps nobody else)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.CONFIG_KWARGS = {
            **UvicornWorker.CONFIG_KWARGS,
            "http": bounded_protocol(HeaderLimits.from_settings(get_settings())),
            "server_header": False,
        }
        super().__init__(*args, **kwargs)

"""ASGI middleware: request ids, and request guards (body size, content type) that answer early.

Pure ASGI (no BaseHTTPMiddleware) so they cost little per request and never buffer bodies.
"""

from __future__ import annotations

import json
import re
import uuid
from email.message import Message as MimeMessage

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import code_for
from config.logsetup import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Echo a client's id only when it is short and printable: it ends up in logs and headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class RequestIdMiddleware:
    """Every response carries X-Request-ID: the client's (if sane: at most 128 letters, digits and
    ``._:-``) or a new one, never the raw value. The id is in every log line of the request
    (:data:`config.logsetup.request_id_var`) and in every error body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = _header(scope, b"x-request-id")
        given = raw.decode("latin-1") if raw else ""
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


async def _send_error(send: Send, status: int, message: str) -> None:
    error: dict[str, object] = {
        "code": code_for(status),
        "message": message,
        "details": [],
        "request_id": request_id_var.get(),
    }
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_json(content_type: bytes) -> bool:
    mime = MimeMessage()
    mime["content-type"] = content_type.decode("latin-1")
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class RequestGuardMiddleware:
    """413 for bodies over ``max_body_bytes`` (declared or streamed), 415 for non-JSON bodies."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _send_error(send, 400, "invalid Content-Length header")
                return
            if int(declared) > self.max_body_bytes:
                await _send_error(send, 413, f"request body larger than {self.max_body_bytes} bytes")
                return
        content_type = _header(scope, b"content-type")
        if content_type is None:
            # A body without a Content-Type is read as JSON (what every client here sends), so that
            # malformed JSON is reported as such and not as "expected an object".
            scope["headers"] = [*scope.get("headers", ()), (b"content-type", b"application/json")]
        elif not _is_json(content_type):
            await _send_error(send, 415, "request body must be JSON (Content-Type: application/json)")
            return
        received = 0
        limit = self.max_body_bytes

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # fastapi.HTTPException passes through FastAPI's body reading untouched,
                    # so the error handlers turn it into the usual 413 error body.
                    raise HTTPException(413, f"request body larger than {limit} bytes")
            return message

        await self.app(scope, receive_with_limit, send)

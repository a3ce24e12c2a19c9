"""One error shape for every 4xx and 5xx: ``{"error": {"code", "message", "details", "request_id"}}``
(``request_id``: the response's X-Request-ID, to find the request in the API's log).

Routes raise :class:`ApiError` subclasses; framework errors (unknown route, wrong method, invalid
body, an unexpected exception) are mapped to the same shape by the handlers installed here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from config.logsetup import request_id_var

log = logging.getLogger("api.errors")

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    details: list[Any] = Field(default_factory=list)
    request_id: str | None = Field(
        default=None, description="The response's X-Request-ID: the request's lines in the API's log carry it"
    )


class ErrorResponse(BaseModel):
    error: ErrorBody


def code_for(status: int) -> str:
    return CODES.get(status, "bad_request" if status < 500 else "internal_error")


class ApiError(Exception):
    """The root of the API's own errors: a status, a code and a message for the client."""

    status_code = 400
    code: str | None = None  # None: the status's code (CODES)

    def __init__(
        self, message: str, *, details: list[Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = dict(headers or {})


class Unauthorized(ApiError):
    status_code = 401

    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class RateLimited(ApiError):
    status_code = 429


class ServiceUnavailable(ApiError):
    """503: a part the API needs is down; ``code`` says which, Retry-After when to try again."""

    status_code = 503


def error_response(
    status: int,
    message: str,
    *,
    details: list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
    request: Request | None = None,
    code: str | None = None,
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    request_id = request_id or request_id_var.get()  # answers made before a Request exists
    body = {
        "error": {
            "code": code or code_for(status),
            "message": message,
            "details": details or [],
            "request_id": request_id,
        }
    }
    all_headers = dict(headers or {})
    if request_id:
        all_headers.setdefault("X-Request-ID", request_id)
    return JSONResponse(body, status_code=status, headers=all_headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 - narrowing: registered for this class only
    return error_response(
        exc.status_code, exc.message, details=exc.details, headers=exc.headers, request=request, code=exc.code
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - narrowing: registered for this class only
    if exc.status_code == 404:
        message = "not found" if exc.detail in ("Not Found", None) else str(exc.detail)
    elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's wording for any failure to decode the body: say what to fix, from the cause.
        if isinstance(exc.__cause__, RecursionError):
            message = "malformed JSON body: nested too deeply"
        else:
            message = "request body is not valid UTF-8 JSON"
    else:
        message = str(exc.detail) if exc.detail else code_for(exc.status_code).replace("_", " ")
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; every route of the path counts.
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return error_response(exc.status_code, message, headers=headers, request=request)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route fully matches at this request's path (routers nest, so ask each)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - narrowing: registered for this class only
    details = _validation_details(exc)
    missing = next((d for d in details if d["type"] == "id_not_found"), None)  # see api.path_ids
    if missing is not None:
        return error_response(404, missing["msg"], request=request)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "malformed JSON body", details=details, request=request)
    return error_response(422, _validation_message(details), details=details, request=request)


def _where(loc: list[Any]) -> str:
    """``["body", "items", 3, "title"]`` -> ``items[3].title`` (where ``body`` goes without saying)."""
    parts = loc[1:] if loc and loc[0] == "body" else loc
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _validation_message(details: list[dict[str, Any]]) -> str:
    """The first problem and where it is, so a batch's error names the item: ``items[3].title: ...``."""
    if not details:
        return "request validation failed"
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"request validation failed: {_where(first['loc'])}: {first['msg']}{more}"


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette calls this outside the middlewares (the request id's context is gone): name it.
    request_id = getattr(request.state, "request_id", None)
    log.exception(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    # Starlette re-raises after this answer and uvicorn then drops the connection: say so, so a
    # keep-alive client does not send its next request on a closed connection.
    return error_response(500, "internal server error", headers={"Connection": "close"}, request=request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


# Documented on every operation so clients (and the generated frontend client) know the shape.
COMMON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("Bad request (e.g. malformed JSON)"),
    413: _doc("Request body too large"),
    415: _doc("Unsupported media type"),
    422: _doc("Validation error; details list each problem"),
    429: _doc("Rate limited; see Retry-After"),
    500: _doc("Internal error"),
    503: _doc(
        "database_unavailable or rate_limiter_unavailable: a part the API needs is down; see Retry-After"
    ),
}
AUTH_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc("Missing, invalid, expired or revoked credentials"),
    403: _doc("Authenticated but not allowed"),
}
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {404: _doc("No such resource (or not yours)")}
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: _doc("Idempotency key reused with a different body")
}

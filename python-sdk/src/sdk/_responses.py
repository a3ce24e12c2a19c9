"""Reading answers: JSON bodies, and the exception for an error status or a failed connection."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sdk import _constants as C
from sdk._retries import parse_retry_after
from sdk.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    RateLimitError,
    UnexpectedResponseError,
    error_for_status,
)


def request_id(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get("X-Request-ID")
    return value


def describe_request(request: httpx.Request) -> str:
    return f"{request.method} {request.url}"


def connection_error(exc: httpx.RequestError, base_url: str) -> APIConnectionError:
    where = describe_request(exc.request)
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").lower().strip()
        return APITimeoutError(
            f"{where}: no response in time ({kind}); the server at {base_url} is slow or hanging"
        )
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError(
            f"{where}: cannot connect to {base_url} ({exc or 'refused'}); is the "
            f"API running, and is base_url / {C.BASE_URL_ENV} right?"
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return APIConnectionError(f"{where}: the server broke off the response ({exc})")
    return APIConnectionError(f"{where}: {type(exc).__name__}: {exc}")


def excerpt(text: str, width: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width] + "…"


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body; UnexpectedResponseError when it is not JSON (HTML, cut off)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        where = describe_request(response.request)
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            problem = f"invalid JSON (truncated or corrupt body: {exc})"
        else:
            problem = f"{content_type or 'no content type'} instead of JSON: {excerpt(response.text)!r}"
        raise UnexpectedResponseError(
            f"{where}: the server answered with {problem}; is base_url the API's address?",
            response.status_code,
            body=response.text,
            request_id=request_id(response),
        ) from exc


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for a non-2xx response, with the API's message, code, details and request id."""
    status = response.status_code
    where = describe_request(response.request)
    body: Any
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = response.text
    code = None
    message = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
        elif "detail" in body:
            message = str(body["detail"])
    if not message:
        reason = response.reason_phrase or "unknown status"
        message = f"{where} failed: {reason}"
        if 300 <= status < 400:
            message += f" (redirect to {response.headers.get('Location')!r}: is base_url right?)"
        elif isinstance(body, str) and body.strip():
            message += f": {excerpt(body)!r}"
    cls = error_for_status(status)
    common: dict[str, Any] = {"body": body, "request_id": request_id(response), "code": code}
    if cls is RateLimitError:
        return RateLimitError(
            message, parse_retry_after(response.headers.get("Retry-After")), status_code=status, **common
        )
    return cls(message, status, **common)

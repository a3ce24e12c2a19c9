"""Every error the SDK raises. One tree, rooted at :class:`AppError`::

    AppError                          bad configuration (e.g. a base_url that is not http(s))
    ├── WaitTimeoutError(message, item)   wait_for: the item is not done or failed in time
    └── APIError(message, status_code)
        ├── AuthenticationError       401, or no credentials at all
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409 (e.g. an Idempotency-Key reused with another body)
        ├── ValidationError           422, ``.errors`` holds the field details
        ├── RateLimitError(message, retry_after)    429, raised at once when the wait asked
        │                                 for does not fit the retry budget
        ├── ServerError               5xx
        ├── UnexpectedResponseError   2xx whose body is not the JSON the API sends (HTML, truncated)
        └── APIConnectionError        no response: refused, reset, DNS
            └── APITimeoutError       no response within the timeout

Every :class:`APIError` carries ``status_code`` (None without a response), ``body`` (the parsed
error JSON, or the text), ``request_id`` (the server's ``X-Request-ID``) and ``code`` (the API's
error code, e.g. ``"not_found"``). :func:`error_for_status` is the one place a status becomes a class.

``PermissionError`` is the old name of :class:`PermissionDeniedError`, still importable but not
in ``__all__``, so that ``from sdk import *`` does not replace the builtin ``PermissionError``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AppError",
    "AuthenticationError",
    "ConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
    "WaitTimeoutError",
    "error_for_status",
]


class AppError(Exception):
    """Root of every SDK error: ``except sdk.AppError`` catches them all."""


class WaitTimeoutError(AppError, TimeoutError):
    """``wait_for`` ran out of time: the item is still pending or processing.

    ``item`` is the item as last read (``item.status`` its last status); also a builtin
    ``TimeoutError``, so ``except TimeoutError`` catches it.
    """

    def __init__(self, message: str, item: Any) -> None:
        super().__init__(message)
        self.message = message
        self.item = item

    @property
    def last_status(self) -> str:
        """The item's status when the time ran out."""
        return str(self.item.status)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.item))


class APIError(AppError):
    """The API could not do what was asked, or could not be reached."""

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        *,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code}")
            parts[-1] += f", request id {self.request_id})" if self.request_id else ")"
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes would be lost by Exception's default pickling.
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[APIError], message: str, state: dict[str, Any]) -> APIError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(APIError):
    """401: the API key or token is missing, wrong, revoked or expired."""


class PermissionDeniedError(APIError):
    """403: authenticated, but not allowed to do this."""


PermissionError = PermissionDeniedError  # the old name; not in __all__ (it would shadow the builtin)  # noqa: A001 - the old name stays importable


class NotFoundError(APIError):
    """404: no such resource, or it belongs to another user."""


class ConflictError(APIError):
    """409: the request conflicts with the current state (e.g. an Idempotency-Key reused)."""


class ValidationError(APIError):
    """422: the API rejected the input; ``errors`` lists ``{"loc", "msg", "type"}`` per field."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            details = (self.body.get("error") or {}).get("details")
            if isinstance(details, list):
                return details
        return []


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` is the wait the server asked for, in seconds.

    The client waits and retries by itself while the wait fits in its ``retry_budget``; this is
    raised once it does not (at once, without waiting) or the retries are used up.
    """

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        status_code: int | None = 429,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, status_code, body=body, request_id=request_id, code=code)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the API failed; retried automatically before this is raised."""


class UnexpectedResponseError(APIError):
    """The server answered, but not with the JSON the API sends (an HTML page, a cut-off body)."""


class APIConnectionError(APIError):
    """No response: the server is unreachable, refused or reset the connection."""


class APITimeoutError(APIConnectionError):
    """No response within the timeout."""


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def error_for_status(status_code: int) -> type[APIError]:
    """The exception class for an HTTP error status (unknown 4xx → APIError, any 5xx → ServerError)."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if 500 <= status_code <= 599:
        return ServerError
    return APIError

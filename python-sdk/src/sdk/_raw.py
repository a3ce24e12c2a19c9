"""``RawResponse``: a result together with the HTTP response it came from (openai's ``with_raw_response``).

raw = client.with_raw_response.get_item(item_id=1)
raw.headers["X-RateLimit-Remaining"], raw.request_id
item = raw.parse()
"""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx

T = TypeVar("T")

__all__ = ["RawResponse"]


class RawResponse(Generic[T]):
    """A successful answer: its headers and status, and ``parse()`` for what the method returns."""

    def __init__(self, http_response: httpx.Response, parsed: T) -> None:
        self.http_response = http_response
        self._parsed = parsed

    @property
    def headers(self) -> httpx.Headers:
        """The response's headers (case-insensitive), e.g. ``RateLimit-Remaining``, ``X-Request-ID``."""
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        """The HTTP status, e.g. 200, or 201 for a create."""
        return self.http_response.status_code

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-ID`` for this request (to quote in a bug report)."""
        value: str | None = self.http_response.headers.get("X-Request-ID")
        return value

    def parse(self) -> T:
        """What the method returns without ``with_raw_response`` (an ``Item``, a page, None ...)."""
        return self._parsed

    def __repr__(self) -> str:
        request = self.http_response.request
        return f"<RawResponse [{self.status_code}] {request.method} {request.url.path}>"

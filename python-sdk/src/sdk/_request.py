"""What one API call sends, as plain values: the specs the endpoints build and the actions the
core asks a client to perform."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class RequestSpec(Generic[T]):
    """One API operation: what to send and how to turn the JSON answer into a result."""

    method: str
    path: str
    parse: Callable[[Any], T] | None
    params: Mapping[str, Any] | None = None
    json: Any = field(default=None, repr=False)  # may hold a password: never in a repr or log
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    needs_auth: bool = True
    answer_statuses: frozenset[int] = frozenset()  # error statuses whose body is still the answer
    gone_on_retry_ok: bool = False
    # Whether it may be sent again after it may have reached the server; None: decided by its
    # method and Idempotency-Key (see _retries.is_replay_safe).
    replay_safe: bool | None = None
    empty_ok: bool = False  # an empty body (204) is the answer None, not a malformed response


@dataclass(frozen=True)
class Call:
    """Arguments for ``http_client.build_request`` (the same for httpx.Client and AsyncClient)."""

    method: str
    url: str
    params: Mapping[str, Any] | None
    json: Any = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    timeout: httpx.Timeout | None

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        extra: dict[str, Any] = {} if self.timeout is None else {"timeout": self.timeout}
        return http.build_request(
            self.method, self.url, params=self.params, json=self.json, headers=self.headers, **extra
        )


@dataclass(frozen=True)
class Send:
    call: Call


@dataclass(frozen=True)
class Sleep:
    seconds: float

"""The synchronous client.

    from sdk import Client

    with Client(base_url="http://localhost:8001", api_key="sk_...") as client:
        item = client.create_item(title="Buy milk")
        for item in client.iter_items(limit=100):
            print(item.title)

``base_url`` falls back to ``$APP_BASE_URL`` (then http://localhost:8001), ``api_key`` to
``$APP_API_KEY``; or call ``login(email=..., password=...)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from sdk import _constants as C
from sdk import _endpoints
from sdk._core import ClientCore, Flow, Outcome
from sdk._request import Send
from sdk.exceptions import AppError
from sdk.models import HealthStatus, Item, PaginatedResponse

T = TypeVar("T")

__all__ = ["Client"]


class Client:
    """A connection-pooled client of the API; close it (or use ``with``) when done.

    Keyword-only options: ``timeout`` (seconds or ``httpx.Timeout``, None for none; default 30 s,
    5 s to connect), ``max_retries`` (default 2),
    ``http_client`` (your own ``httpx.Client``; you close it), ``sleep`` (the wait between retries;
    tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = C.DEFAULT_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Our own pool carries the timeout; a borrowed one keeps its own unless one is given here.
        borrowed_timeout = None if timeout is C.DEFAULT_TIMEOUT else httpx.Timeout(timeout)
        self._core = ClientCore(
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            timeout=borrowed_timeout if http_client is not None else None,
        )
        self._owns_http = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else httpx.Client(
                timeout=timeout, limits=C.DEFAULT_CONNECTION_LIMITS, headers={"User-Agent": C.USER_AGENT}
            )
        )
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def max_retries(self) -> int:
        return self._core.max_retries

    # -- the operations ---------------------------------------------------------------------------

    def health(self) -> HealthStatus:
        """The API's health; ``status`` is ``"unhealthy"`` (not an exception) when it answers 503."""
        return self._run(self._core.execute(_endpoints.health()))

    def login(self, email: str, password: str) -> None:
        """Log in; later requests use the token, renewed by logging in again when it expires."""
        self._run(self._core.login(email, password))

    def list_items(
        self,
        page: int = 1,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        status: str | None = None,
        q: str | None = None,
    ) -> PaginatedResponse:
        """One page of your items, newest first."""
        spec = _endpoints.list_items(page=page, limit=limit, status=status, q=q)
        return self._run(self._core.execute(spec))

    def iter_items(
        self, limit: int = C.DEFAULT_PAGE_SIZE, *, status: str | None = None, q: str | None = None
    ) -> Iterator[Item]:
        """Every matching item, newest first, fetched ``limit`` at a time by cursor.

        Items created while iterating are neither repeated nor make others skipped.
        """
        after: int | None = None
        while True:
            spec = _endpoints.list_items(limit=limit, status=status, q=q, after=after)
            page = self._run(self._core.execute(spec))
            yield from page.items
            after = _endpoints.next_cursor(page, after)
            if after is None:
                return

    def create_item(
        self,
        title: str,
        description: str = "",
        *,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Item:
        """Create an item; retries reuse one Idempotency-Key, so it is created exactly once."""
        spec = _endpoints.create_item(
            title=title, description=description, metadata=metadata, idempotency_key=idempotency_key
        )
        return self._run(self._core.execute(spec))

    def get_item(self, item_id: int) -> Item:
        return self._run(self._core.execute(_endpoints.get_item(item_id)))

    def update_item(
        self,
        item_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> Item:
        """Change the given fields; ``status="pending"`` queues the item to be processed again."""
        spec = _endpoints.update_item(
            item_id, title=title, description=description, metadata=metadata, status=status
        )
        return self._run(self._core.execute(spec))

    def delete_item(self, item_id: int) -> None:
        self._run(self._core.execute(_endpoints.delete_item(item_id)))

    # -- plumbing ---------------------------------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        """Drive the core's flow: perform each Send or Sleep it asks for and feed back the outcome."""
        if self._http.is_closed:
            raise AppError("this Client is closed; create a new one")
        try:
            action = next(flow)
            while True:
                outcome: Outcome
                if isinstance(action, Send):
                    try:
                        outcome = self._http.send(action.call.build(self._http))
                    except httpx.RequestError as exc:
                        outcome = exc
                else:
                    self._sleep(action.seconds)
                    outcome = None
                action = flow.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, auth={self._core.credentials.describe()!r})"

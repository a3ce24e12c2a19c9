"""The asynchronous client: the same methods as :class:`sdk.Client`, awaited.

    from sdk import AsyncClient

    async with AsyncClient(base_url="http://localhost:8001", api_key="sk_...") as client:
        item = await client.create_item(title="Buy milk")
        async for item in client.iter_items(limit=100):
            print(item.title)

In a notebook, top-level ``await`` works as is. Retries, backoff, Retry-After, idempotency keys,
token renewal and parsing come from the same core as the sync client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
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

__all__ = ["AsyncClient"]


class AsyncClient:
    """A connection-pooled async client of the API; ``await client.close()`` or ``async with``.

    Keyword-only options as :class:`sdk.Client`; ``sleep`` is an async callable.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = C.DEFAULT_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
            else httpx.AsyncClient(
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

    async def health(self) -> HealthStatus:
        return await self._run(self._core.execute(_endpoints.health()))

    async def login(self, email: str, password: str) -> None:
        await self._run(self._core.login(email, password))

    async def list_items(
        self,
        page: int = 1,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        status: str | None = None,
        q: str | None = None,
    ) -> PaginatedResponse:
        spec = _endpoints.list_items(page=page, limit=limit, status=status, q=q)
        return await self._run(self._core.execute(spec))

    async def iter_items(
        self, limit: int = C.DEFAULT_PAGE_SIZE, *, status: str | None = None, q: str | None = None
    ) -> AsyncIterator[Item]:
        """``async for item in client.iter_items()``: every matching item, paged by cursor."""
        after: int | None = None
        while True:
            spec = _endpoints.list_items(limit=limit, status=status, q=q, after=after)
            page = await self._run(self._core.execute(spec))
            for item in page.items:
                yield item
            after = _endpoints.next_cursor(page, after)
            if after is None:
                return

    async def create_item(
        self,
        title: str,
        description: str = "",
        *,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Item:
        spec = _endpoints.create_item(
            title=title, description=description, metadata=metadata, idempotency_key=idempotency_key
        )
        return await self._run(self._core.execute(spec))

    async def get_item(self, item_id: int) -> Item:
        return await self._run(self._core.execute(_endpoints.get_item(item_id)))

    async def update_item(
        self,
        item_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> Item:
        spec = _endpoints.update_item(
            item_id, title=title, description=description, metadata=metadata, status=status
        )
        return await self._run(self._core.execute(spec))

    async def delete_item(self, item_id: int) -> None:
        await self._run(self._core.execute(_endpoints.delete_item(item_id)))

    async def _run(self, flow: Flow[T]) -> T:
        if self._http.is_closed:
            raise AppError("this AsyncClient is closed; create a new one")
        try:
            action = next(flow)
            while True:
                outcome: Outcome
                if isinstance(action, Send):
                    try:
                        outcome = await self._http.send(action.call.build(self._http))
                    except httpx.RequestError as exc:
                        outcome = exc
                else:
                    await self._sleep(action.seconds)
                    outcome = None
                action = flow.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r}, auth={self._core.credentials.describe()!r})"

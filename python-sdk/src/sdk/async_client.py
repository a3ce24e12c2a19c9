"""The asynchronous client: the same methods as :class:`sdk.Client`, awaited.

    from sdk import AsyncClient

    async with AsyncClient(base_url="http://localhost:8001", api_key="sk_...") as client:
        item = await client.create_item(title="Buy milk")
        async for item in client.iter_items(limit=100):
            print(item.title)

In a notebook, top-level ``await`` works as is. Retries, backoff, Retry-After, the retry budget,
idempotency keys, token renewal and parsing come from the same core as the sync client.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from sdk import _constants as C
from sdk import _endpoints
from sdk._core import ClientCore, Flow, Outcome
from sdk._request import Send
from sdk._types import NOT_GIVEN, NotGiven, TimeoutTypes, as_timeout
from sdk.exceptions import AppError
from sdk.models import ApiKey, ApiKeyPage, HealthStatus, Item, PaginatedResponse

T = TypeVar("T")

__all__ = ["AsyncClient"]


class AsyncClient:
    """A connection-pooled async client of the API; ``await client.close()`` or ``async with``.

    The same methods as :class:`sdk.Client`, awaited; ``iter_items`` is iterated with ``async for``.
    Keyword-only options, as :class:`sdk.Client`:

    - ``timeout``: seconds or an ``httpx.Timeout`` per request, None for none (default 30 s, 5 s
      to connect). Every method also takes ``timeout=`` for that call alone.
    - ``max_retries``: how many times a failed request is sent again (default 2).
    - ``retry_budget``: the most one call waits in total between its attempts, in seconds
      (default 60). A wait that does not fit in what is left, such as a ``Retry-After`` longer
      than that, is not started: the error (e.g. ``RateLimitError`` with ``retry_after``) is
      raised at once.
    - ``http_client``: your own ``httpx.AsyncClient`` (you close it).
    - ``sleep``: the async wait between retries (tests pass a recorder).

    What is sent again: a request that never left (connection refused, no free connection),
    and a 408 or 429, always; after a timeout, a dropped connection or a 5xx, only requests that
    are safe to send twice: reads, deletes, logins and creates (one ``Idempotency-Key`` for all
    attempts), never ``update_item``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: TimeoutTypes = C.DEFAULT_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        retry_budget: float = C.DEFAULT_RETRY_BUDGET,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # Our own pool carries the timeout; a borrowed one keeps its own unless one is given here.
        borrowed_timeout = None if timeout is C.DEFAULT_TIMEOUT else as_timeout(timeout)
        self._core = ClientCore(
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            retry_budget=retry_budget,
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
        """The API's address, e.g. ``http://localhost:8001``."""
        return self._core.base_url

    @property
    def max_retries(self) -> int:
        """How many times a failed request is sent again."""
        return self._core.max_retries

    @property
    def retry_budget(self) -> float:
        """The most one call waits in total between its attempts, in seconds."""
        return self._core.retry_budget

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_budget: float | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A copy with other defaults that shares this client's connection pool and login.

        ``await client.with_options(max_retries=0).get_item(item_id=1)``. Options left out keep this
        client's values. Closing the copy leaves the pool open; closing this client closes it.
        """
        clone = copy.copy(self)
        clone._core = self._core.with_options(
            timeout=timeout, max_retries=max_retries, retry_budget=retry_budget
        )
        clone._owns_http = False
        return clone

    # -- the operations ---------------------------------------------------------------------------

    async def health(self, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> HealthStatus:
        """The API's health; ``status`` is ``"unhealthy"`` (not an exception) when it answers 503."""
        return await self._run(self._core.execute(_endpoints.health(), timeout))

    async def login(self, email: str, password: str, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> None:
        """Log in; later requests use the token, renewed by logging in again when it expires.

        Retried like a read after a timeout or a lost answer, although it is a POST: a login
        changes nothing on the server (it signs a token stored nowhere), so a repeat is harmless.
        """
        await self._run(self._core.login(email, password, timeout))

    async def list_items(
        self,
        page: int = 1,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        status: str | None = None,
        q: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> PaginatedResponse:
        """One page of your items, newest first; ``q`` searches titles, ``status`` filters.

        ``total`` and ``pages`` are lower bounds when ``total_is_estimate`` is True (more than
        1,000 items past this page): see :class:`sdk.PaginatedResponse`.
        """
        spec = _endpoints.list_items(page=page, limit=limit, status=status, q=q)
        return await self._run(self._core.execute(spec, timeout))

    async def iter_items(
        self,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        status: str | None = None,
        q: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[Item]:
        """Every matching item, newest first, fetched ``limit`` at a time by cursor: ``async for``.

        Items created while iterating are neither repeated nor make others skipped.
        ``timeout`` applies to each page's request.
        """
        after: int | None = None
        while True:
            spec = _endpoints.list_items(limit=limit, status=status, q=q, after=after)
            page = await self._run(self._core.execute(spec, timeout))
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
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Item:
        """Create an item; retries reuse one Idempotency-Key, so it is created exactly once.

        Pass ``idempotency_key`` to make a create safe to repeat across calls (or processes).
        """
        spec = _endpoints.create_item(
            title=title, description=description, metadata=metadata, idempotency_key=idempotency_key
        )
        return await self._run(self._core.execute(spec, timeout))

    async def get_item(self, item_id: int, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> Item:
        """One of your items by id; ``NotFoundError`` if there is none (or it is another user's)."""
        return await self._run(self._core.execute(_endpoints.get_item(item_id), timeout))

    async def update_item(
        self,
        item_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Item:
        """Change the given fields; ``status="pending"`` queues the item to be processed again.

        Not sent again once it may have reached the server (after a timeout, a dropped connection
        or a 5xx): a late repeat would undo what happened in between, such as another client's edit
        or a worker finishing the requeued item, which would then be processed twice. The error is
        raised instead; read the item to see whether the change was made.
        """
        spec = _endpoints.update_item(
            item_id, title=title, description=description, metadata=metadata, status=status
        )
        return await self._run(self._core.execute(spec, timeout))

    async def delete_item(self, item_id: int, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> None:
        """Delete one of your items; ``NotFoundError`` if there is none.

        Retried like a read: a 404 on a retry means the first attempt deleted it, and is success.
        """
        await self._run(self._core.execute(_endpoints.delete_item(item_id), timeout))

    async def list_api_keys(
        self,
        page: int = 1,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> ApiKeyPage:
        """One page of your API keys, newest first, revoked ones included (without their secrets)."""
        return await self._run(self._core.execute(_endpoints.list_api_keys(page=page, limit=limit), timeout))

    async def iter_api_keys(
        self, limit: int = C.DEFAULT_PAGE_SIZE, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    ) -> AsyncIterator[ApiKey]:
        """Every one of your API keys, newest first, fetched ``limit`` at a time by cursor."""
        after: int | None = None
        while True:
            page = await self._run(
                self._core.execute(_endpoints.list_api_keys(limit=limit, after=after), timeout)
            )
            for key in page.items:
                yield key
            after = _endpoints.next_cursor(page, after)
            if after is None:
                return

    async def create_api_key(self, name: str, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> ApiKey:
        """A new API key; its ``key`` is the secret, returned this once. ``ConflictError`` when you
        already hold as many active keys as the API allows (revoke one first). Not retried once it
        may have reached the server (a repeat would make a second key)."""
        return await self._run(self._core.execute(_endpoints.create_api_key(name), timeout))

    async def revoke_api_key(self, key_id: int, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> None:
        """Revoke one of your API keys: it stops working at once. ``NotFoundError`` if there is none."""
        await self._run(self._core.execute(_endpoints.revoke_api_key(key_id), timeout))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """Call any route of the API, e.g. one your team added, and return its decoded JSON (None for
        an empty answer): ``client.request("GET", "/api/v1/notes")``.

        Authentication, errors (the same exception classes), retries and timeouts work as for the
        methods above. After a request may have reached the server it is sent again only when that is
        safe: GET, HEAD, OPTIONS, PUT and DELETE, or with an ``Idempotency-Key`` header.
        """
        spec = _endpoints.custom(method, path, params=params, json=json, headers=headers)
        return await self._run(self._core.execute(spec, timeout))

    # -- plumbing ---------------------------------------------------------------------------------

    async def _run(self, flow: Flow[T]) -> T:
        """Drive the core's flow: perform each Send or Sleep it asks for and feed back the outcome."""
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
        """Close the connection pool (unless it was passed in as ``http_client``, or this is a copy
        made by ``with_options``)."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """True once the connection pool is closed."""
        return self._http.is_closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r}, auth={self._core.credentials.describe()!r})"

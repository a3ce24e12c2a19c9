"""The asynchronous client: the same methods as :class:`sdk.Client`, awaited.

    from sdk import AsyncClient

    async with AsyncClient(base_url="http://localhost:8001", api_key="sk_...") as client:
        item = await client.create_item(title="Buy milk")
        item = await client.wait_for(item.id, timeout=30)    # until done or failed
        async for item in client.iter_items(limit=100):
            print(item.title)
        frame = await client.iter_items(status="done").to_dataframe()  # the [pandas] extra

In a notebook, top-level ``await`` works as is. Retries, backoff, Retry-After, the retry budget,
idempotency keys, token renewal and parsing come from the same core as the sync client.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from sdk import _constants as C
from sdk import _endpoints
from sdk._core import ClientCore, Flow, Outcome
from sdk._iteration import AsyncItemIterator
from sdk._raw import RawResponse
from sdk._request import RequestSpec, Send
from sdk._types import NOT_GIVEN, NotGiven, TimeoutTypes, as_timeout, describe_timeout
from sdk._waiting import WaitPlan
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

    def iter_items(
        self,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        status: str | None = None,
        q: str | None = None,
        after: int | None = None,
        max_items: int | None = None,
        progress: bool = False,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AsyncItemIterator:
        """Every matching item, newest first, fetched ``limit`` at a time by cursor: ``async for``.

        Items created while iterating are neither repeated nor make others skipped.

        - ``after``: only items older than this id (stripe's ``starting_after``): pass the
          iterator's ``last_id`` to continue an interrupted iteration; the item need not exist any
          more (a deleted id works).
        - ``max_items``: stop after this many (pages are not fetched beyond them).
        - ``progress``: a tqdm progress bar (the ``tqdm`` extra; ImportError naming it otherwise).

        ``await iterator.to_dataframe()`` reads the rest into a pandas DataFrame (the ``pandas``
        extra). ``timeout`` applies to each page's request.
        """

        async def fetch(cursor: int | None, size: int) -> PaginatedResponse:
            spec = _endpoints.list_items(limit=size, status=status, q=q, after=cursor)
            return await self._run(self._core.execute(spec, timeout))

        return AsyncItemIterator(fetch, limit=limit, after=after, max_items=max_items, progress=progress)

    async def wait_for(
        self, item_id: int, *, timeout: float = C.DEFAULT_WAIT_TIMEOUT, poll: float = C.DEFAULT_WAIT_POLL
    ) -> Item:
        """Read the item every ``poll`` seconds until a worker is done with it (``done`` or
        ``failed``) and return it; ``WaitTimeoutError`` (naming its last status) after ``timeout``
        seconds. ``timeout=0`` looks once. ``NotFoundError`` at once when there is no such item of
        yours. Each read is retried as ``get_item`` is.
        """
        plan = WaitPlan(item_id, timeout, poll)
        while True:
            item = await self.get_item(item_id)
            pause = plan.next_pause(item)
            if pause is None:
                return item
            await self._sleep(pause)

    async def create_items(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> list[Item]:
        """Create many items, each a dict of ``create_item``'s fields (``title``, ``description``,
        ``metadata``); the created items in the same order.

        Sent 1,000 at a time (fewer when their JSON would pass about 1 MB), one request after
        another. Each request is all or nothing: one invalid item refuses its request with a
        ``ValidationError`` naming its index. With more than one request, those before it were
        created (the error's notes say how many).

        Idempotency: each request has its own key, reused by its retries. With ``idempotency_key``
        the first request uses it, the following ones ``<key>.1``, ``<key>.2`` ...: calling again
        with the same key and list returns the same items and creates nothing twice (and after a
        failure, creates only what is missing).
        """
        results: list[Item] = []
        for number, bodies in enumerate(_endpoints.batch_bodies(items)):
            spec = _endpoints.create_batch(bodies, _endpoints.batch_key(idempotency_key, number))
            try:
                created: list[Item] = await self._run(self._core.execute(spec, timeout))
                results.extend(created)
            except AppError as exc:
                _endpoints.note_partial_batch(exc, done=len(results))
                raise
        return results

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

    @property
    def with_raw_response(self) -> AsyncClientWithRawResponse:
        """The same methods, returning a :class:`sdk.RawResponse`: the result (``parse()``) with
        the HTTP response's ``headers``, ``status_code`` and ``request_id``.

        ``(await client.with_raw_response.get_item(item_id=1)).headers["RateLimit-Remaining"]``
        """
        return AsyncClientWithRawResponse(self)

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
        timeout = self._core.timeout if self._core.timeout is not None else self._http.timeout
        return (
            f"AsyncClient(base_url={self.base_url!r}, auth={self._core.credentials.describe()!r}, "
            f"timeout={describe_timeout(timeout)}, max_retries={self.max_retries}, "
            f"retry_budget={self.retry_budget:g})"
        )


class AsyncClientWithRawResponse:
    """``client.with_raw_response``: each method returns a :class:`sdk.RawResponse`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _raw(self, spec: RequestSpec[T], timeout: TimeoutTypes | NotGiven) -> RawResponse[T]:
        client = self._client
        return await client._run(client._core.execute_raw(spec, timeout))

    async def health(self, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> RawResponse[HealthStatus]:
        """:meth:`AsyncClient.health` with the response."""
        return await self._raw(_endpoints.health(), timeout)

    async def list_items(
        self,
        page: int = 1,
        limit: int = C.DEFAULT_PAGE_SIZE,
        *,
        status: str | None = None,
        q: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> RawResponse[PaginatedResponse]:
        """:meth:`AsyncClient.list_items` with the response."""
        return await self._raw(_endpoints.list_items(page=page, limit=limit, status=status, q=q), timeout)

    async def create_item(
        self,
        title: str,
        description: str = "",
        *,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> RawResponse[Item]:
        """:meth:`AsyncClient.create_item` with the response."""
        spec = _endpoints.create_item(
            title=title, description=description, metadata=metadata, idempotency_key=idempotency_key
        )
        return await self._raw(spec, timeout)

    async def get_item(
        self, item_id: int, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    ) -> RawResponse[Item]:
        """:meth:`AsyncClient.get_item` with the response."""
        return await self._raw(_endpoints.get_item(item_id), timeout)

    async def update_item(
        self,
        item_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> RawResponse[Item]:
        """:meth:`AsyncClient.update_item` with the response."""
        spec = _endpoints.update_item(
            item_id, title=title, description=description, metadata=metadata, status=status
        )
        return await self._raw(spec, timeout)

    async def delete_item(
        self, item_id: int, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    ) -> RawResponse[None]:
        """:meth:`AsyncClient.delete_item` with the response (``parse()`` is None)."""
        return await self._raw(_endpoints.delete_item(item_id), timeout)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> RawResponse[Any]:
        """:meth:`AsyncClient.request` with the response."""
        spec = _endpoints.custom(method, path, params=params, json=json, headers=headers)
        return await self._raw(spec, timeout)

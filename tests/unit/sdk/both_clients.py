"""Run one test body against both clients: the AsyncClient behind a blocking facade.

The facade drives each coroutine to completion on a private event loop, and ``iter_items`` (and
``iter_api_keys``) one page at a time, so a test can call other methods between the items of an
iteration, as with the sync client.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from sdk import AsyncClient, Client

KINDS = ("sync", "async")


class Blocking:
    """Any object's coroutine methods, called like plain ones on ``loop``."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target, self._loop = target, loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._loop.run_until_complete(attr(*args, **kwargs))
        return attr


class BlockingIterator(Blocking):
    """An AsyncItemIterator driven one item at a time (``last_id``, ``to_dataframe()`` as the sync one)."""

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self._loop.run_until_complete(self._target.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._loop.run_until_complete(self._target.aclose())


class BlockingAsyncClient:
    """The AsyncClient's methods, called like the sync Client's."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        http_client: httpx.AsyncClient | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.async_client = client
        self._http_client = http_client  # a borrowed pool lives on this loop, so it is closed here too
        self._owns_loop = loop is None
        self._loop = asyncio.new_event_loop() if loop is None else loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.async_client, name)
        if name in ("iter_items", "iter_api_keys"):
            return lambda *args, **kwargs: self._iterate(*args, method=name, **kwargs)
        if name == "with_options":
            return self._with_options
        if name == "with_raw_response":
            return Blocking(attr, self._loop)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._loop.run_until_complete(attr(*args, **kwargs))
        return attr

    def _iterate(self, *args: Any, method: str = "iter_items", **kwargs: Any) -> BlockingIterator:
        return BlockingIterator(getattr(self.async_client, method)(*args, **kwargs), self._loop)

    def _with_options(self, **options: Any) -> BlockingAsyncClient:
        """The copy, driven on this facade's loop (where the shared pool's connections live)."""
        return BlockingAsyncClient(self.async_client.with_options(**options), loop=self._loop)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if not self._owns_loop:
            self._loop.run_until_complete(self.async_client.close())
            return
        try:
            self._loop.run_until_complete(self.async_client.close())
            if self._http_client is not None:
                self._loop.run_until_complete(self._http_client.aclose())
        finally:
            self._loop.close()

    def __enter__(self) -> BlockingAsyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self.async_client)


def make_client(kind: str, *, sleep: Callable[[float], None] | None = None, **kwargs: Any) -> Any:
    """A Client, or a BlockingAsyncClient with the same behaviour, built from the same arguments."""
    if kind == "sync":
        if sleep is not None:
            kwargs["sleep"] = sleep
        return Client(**kwargs)

    if sleep is not None:
        record = sleep

        async def async_sleep(seconds: float) -> None:
            record(seconds)

        kwargs["sleep"] = async_sleep
    return BlockingAsyncClient(AsyncClient(**kwargs), http_client=kwargs.get("http_client"))

"""What ``iter_items`` returns: an iterator of items over cursor pages, that can resume, stop at
``max_items``, show progress and become a data frame.

    items = client.iter_items(limit=100, max_items=5_000, progress=True)
    for item in items:
        ...                       # interrupted? client.iter_items(after=items.last_id) goes on
    frame = client.iter_items(status="done").to_dataframe()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from sdk import _endpoints
from sdk._extras import items_dataframe, progress_bar
from sdk.models import Item, PaginatedResponse

__all__ = ["AsyncItemIterator", "ItemIterator"]

FetchPage = Callable[[int | None, int], PaginatedResponse]
AsyncFetchPage = Callable[[int | None, int], Awaitable[PaginatedResponse]]


def check_paging(limit: int, after: int | None, max_items: int | None) -> None:
    """Refuse arguments the API would refuse later (or that make no sense) before any request."""
    for name, value, least in (("limit", limit, 1), ("after", after, 1), ("max_items", max_items, 0)):
        if value is None and name != "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number, {least} or more, got {value!r}")


class _Paging:
    """The state both iterators share: the cursor, what is left to read, and the progress bar."""

    def __init__(self, limit: int, after: int | None, max_items: int | None, progress: bool) -> None:
        check_paging(limit, after, max_items)
        self.limit = limit
        self.after = after
        self.left = max_items
        self.done = max_items == 0
        self.buffer: list[Item] = []
        self.last_id: int | None = None
        # Imported now, so a missing tqdm is an error at the call, not at the first item.
        self.bar: Any = progress_bar(max_items, "items") if progress else None

    def page_size(self) -> int:
        return self.limit if self.left is None else min(self.limit, self.left)

    def take(self, page: PaginatedResponse) -> None:
        items = page.items if self.left is None else page.items[: self.left]
        if self.bar is not None and self.bar.total is None and self.after is None and self.left is None:
            if not page.total_is_estimate:
                self.bar.total = page.total  # exact: the bar shows how far along the reading is
                self.bar.refresh()
        self.buffer = list(reversed(items))  # popped from the end: the newest first
        if self.left is not None:
            self.left -= len(items)
        cursor = _endpoints.next_cursor(page, self.after)
        self.done = cursor is None or self.left == 0
        self.after = cursor

    def next_item(self) -> Item:
        item = self.buffer.pop()
        self.last_id = item.id
        if self.bar is not None:
            self.bar.update(1)
        return item

    def finish(self) -> None:
        self.done = True
        self.buffer = []
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ItemIterator(Iterator[Item]):
    """Items, newest first, fetched a page at a time as they are consumed.

    ``last_id`` is the id of the last item handed out: ``iter_items(after=it.last_id)`` continues
    after it (even if that item was deleted since). ``to_dataframe()`` reads the rest into a
    ``pandas.DataFrame`` (the ``pandas`` extra).
    """

    def __init__(
        self, fetch: FetchPage, *, limit: int, after: int | None, max_items: int | None, progress: bool
    ) -> None:
        self._fetch = fetch
        self._paging = _Paging(limit, after, max_items, progress)

    @property
    def last_id(self) -> int | None:
        """The id of the last item handed out (None before the first): pass it as ``after=`` to resume."""
        return self._paging.last_id

    def __iter__(self) -> ItemIterator:
        return self

    def __next__(self) -> Item:
        paging = self._paging
        while not paging.buffer:
            if paging.done:
                paging.finish()
                raise StopIteration
            try:
                paging.take(self._fetch(paging.after, paging.page_size()))
            except BaseException:
                paging.finish()
                raise
        return paging.next_item()

    def to_dataframe(self) -> Any:
        """The items not read yet as a ``pandas.DataFrame``, one row per item, newest first."""
        return items_dataframe(list(self))

    def close(self) -> None:
        """Stop early: no more pages are fetched (and a progress bar is closed)."""
        self._paging.finish()


class AsyncItemIterator(AsyncIterator[Item]):
    """The async counterpart of :class:`ItemIterator`: ``async for``, ``await it.to_dataframe()``."""

    def __init__(
        self, fetch: AsyncFetchPage, *, limit: int, after: int | None, max_items: int | None, progress: bool
    ) -> None:
        self._fetch = fetch
        self._paging = _Paging(limit, after, max_items, progress)

    @property
    def last_id(self) -> int | None:
        """The id of the last item handed out (None before the first): pass it as ``after=`` to resume."""
        return self._paging.last_id

    def __aiter__(self) -> AsyncItemIterator:
        return self

    async def __anext__(self) -> Item:
        paging = self._paging
        while not paging.buffer:
            if paging.done:
                paging.finish()
                raise StopAsyncIteration
            try:
                paging.take(await self._fetch(paging.after, paging.page_size()))
            except BaseException:
                paging.finish()
                raise
        return paging.next_item()

    async def to_dataframe(self) -> Any:
        """The items not read yet as a ``pandas.DataFrame``, one row per item, newest first."""
        return items_dataframe([item async for item in self])

    async def aclose(self) -> None:
        """Stop early: no more pages are fetched (and a progress bar is closed)."""
        self._paging.finish()

"""iter_items pages by cursor: ceil(N / limit) requests, filters on every page, no skip or repeat."""

from __future__ import annotations

import math

import httpx
import pytest

from tests.unit.sdk.conftest import ScriptedAPI, item_json


def serve_items(api: ScriptedAPI, ids: list[int]) -> None:
    """A cursor-paging items endpoint over ``ids`` (a live list: tests may append while iterating)."""

    def route(request: httpx.Request) -> httpx.Response | None:
        params = request.url.params
        limit = int(params["limit"])
        after = int(params["after"]) if "after" in params else None
        newest_first = sorted(ids, reverse=True)
        rest = [i for i in newest_first if after is None or i < after]
        chunk = rest[:limit]
        more = len(rest) > limit
        body = {
            "items": [item_json(i) for i in chunk],
            "total": len(ids),
            "page": 1,
            "limit": limit,
            "pages": max(1, math.ceil(len(ids) / limit)),
            "next_cursor": chunk[-1] if more else None,
        }
        return httpx.Response(200, json=body)

    api.route = route


@pytest.mark.parametrize(
    ("count", "limit", "requests"),
    [(0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (250, 100, 3), (300, 100, 3)],
)
def test_iter_items_makes_ceil_n_over_limit_requests(
    connect, api: ScriptedAPI, count: int, limit: int, requests: int
) -> None:
    serve_items(api, list(range(1, count + 1)))
    seen = [item.id for item in connect().iter_items(limit=limit)]
    assert seen == list(range(count, 0, -1))
    assert api.count == requests


def test_filters_are_kept_on_every_page(connect, api: ScriptedAPI) -> None:
    serve_items(api, list(range(1, 8)))
    list(connect().iter_items(limit=3, status="done", q="milk"))
    params = [dict(request.url.params) for request in api.requests]
    assert params == [
        {"limit": "3", "status": "done", "q": "milk"},
        {"limit": "3", "after": "5", "status": "done", "q": "milk"},
        {"limit": "3", "after": "2", "status": "done", "q": "milk"},
    ]


def test_items_created_while_iterating_neither_repeat_nor_push_others_out(connect, api: ScriptedAPI) -> None:
    ids = list(range(1, 21))
    serve_items(api, ids)
    seen = []
    for item in connect().iter_items(limit=5):
        seen.append(item.id)
        ids.append(max(ids) + 1)  # a newer item appears after every item read
    assert seen == list(range(20, 0, -1))


def test_iteration_is_lazy(connect, api: ScriptedAPI) -> None:
    serve_items(api, list(range(1, 101)))
    items = connect().iter_items(limit=10)
    assert api.count == 0
    first = next(iter(items))
    assert first.id == 100 and api.count == 1


def test_list_items_sends_page_and_limit(connect, api: ScriptedAPI) -> None:
    api.reply(
        httpx.Response(
            200, json={"items": [], "total": 0, "page": 3, "limit": 20, "pages": 0, "next_cursor": None}
        )
    )
    page = connect().list_items(page=3, limit=20)
    assert dict(api.requests[0].url.params) == {"page": "3", "limit": "20"}
    assert (page.page, page.limit, len(page)) == (3, 20, 0)

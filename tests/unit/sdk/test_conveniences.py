"""The conveniences' behaviour under faults the real API cannot be made to produce on demand:
retries of a batch, a raw response after a retry, the waits of wait_for."""

from __future__ import annotations

import httpx
import pytest

import sdk
from tests.unit.sdk.conftest import ScriptedAPI, error_body, item_json


def test_a_batch_retried_after_a_503_keeps_its_key(connect, api: ScriptedAPI) -> None:
    api.reply(
        httpx.Response(503, json=error_body("unavailable", "busy")),
        httpx.Response(201, json={"items": [item_json(1), item_json(2)]}),
    )
    created = connect().create_items([{"title": "item 1"}, {"title": "item 2"}])
    assert [i.id for i in created] == [1, 2]
    assert api.count == 2 and api.requests[0].url.path == "/api/v1/items/batch"
    assert api.requests[0].headers["Idempotency-Key"] == api.requests[1].headers["Idempotency-Key"]
    assert api.json_of(0) == {"items": [{"title": "item 1"}, {"title": "item 2"}]}


def test_a_raw_response_is_the_one_the_result_came_from(connect, api: ScriptedAPI) -> None:
    api.reply(
        httpx.Response(503, json=error_body("unavailable", "busy"), headers={"X-Request-ID": "first"}),
        httpx.Response(
            200, json=item_json(3), headers={"X-Request-ID": "second", "RateLimit-Remaining": "7"}
        ),
    )
    raw = connect().with_raw_response.get_item(3)
    assert (raw.status_code, raw.request_id, raw.headers["ratelimit-remaining"]) == (200, "second", "7")
    assert raw.parse().id == 3 and repr(raw) == "<RawResponse [200] GET /api/v1/items/3>"


def test_wait_for_polls_at_the_given_pace_until_finished(
    connect, api: ScriptedAPI, sleeps: list[float]
) -> None:
    api.reply(
        httpx.Response(200, json=item_json(5, status="pending")),
        httpx.Response(200, json=item_json(5, status="processing")),
        httpx.Response(200, json=item_json(5, status="failed", error="boom")),
    )
    item = connect().wait_for(5, timeout=3600, poll=2.5)
    assert (item.status, item.error, item.finished) == ("failed", "boom", True)
    assert sleeps == [2.5, 2.5] and api.count == 3


def test_create_items_of_nothing_sends_nothing(connect, api: ScriptedAPI) -> None:
    assert connect().create_items([]) == [] and api.count == 0


def test_a_caller_key_too_long_for_its_suffixes_is_refused_by_the_api_not_cut(
    connect, api: ScriptedAPI
) -> None:
    api.reply(httpx.Response(201, json={"items": [item_json(1)]}))
    connect().create_items([{"title": "t"}], idempotency_key="k" * 255)
    assert api.requests[0].headers["Idempotency-Key"] == "k" * 255  # one request: the key as given


@pytest.mark.parametrize("max_items", [1, 3])
def test_max_items_smaller_than_a_page_asks_for_no_more(connect, api: ScriptedAPI, max_items: int) -> None:
    page = {"items": [item_json(9 - n) for n in range(3)], "total": 9, "page": 1, "limit": 3, "pages": 3}
    api.reply(httpx.Response(200, json={**page, "next_cursor": 7}))
    items = list(connect().iter_items(limit=10, max_items=max_items))
    assert len(items) == max_items and api.requests[0].url.params["limit"] == str(max_items)
    assert api.count == 1
    assert isinstance(sdk.ItemIterator, type)

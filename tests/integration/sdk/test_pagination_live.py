"""iter_items against the real API: request counts, filters on every page, no skip or repeat under inserts."""

from __future__ import annotations

import math

import pytest

from store.models import Item
from tests.integration.sdk.conftest import Account, LiveAPI


def add_items(live_api: LiveAPI, account: Account, titles: list[str]) -> list[int]:
    """Rows straight into the database: fast set-up for hundreds of items. Ids in creation order."""
    with live_api.database.session() as session:
        rows = [Item(user_id=account.user_id, title=title) for title in titles]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


@pytest.mark.parametrize(("count", "limit"), [(0, 10), (7, 10), (30, 10), (31, 10), (250, 100)])
def test_iter_items_makes_ceil_n_over_limit_requests(
    connect, counted, live_api: LiveAPI, account: Account, count: int, limit: int
) -> None:
    ids = add_items(live_api, account, [f"item {n}" for n in range(count)])
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    seen = [item.id for item in client.iter_items(limit=limit)]
    assert seen == ids[::-1]
    assert counter.count == max(1, math.ceil(count / limit))


def test_filters_are_kept_on_every_page(connect, counted, live_api: LiveAPI, account: Account) -> None:
    titles = [f"milk {n}" if n % 3 == 0 else f"bread {n}" for n in range(30)]
    ids = add_items(live_api, account, titles)
    milk_ids = [i for i, title in zip(ids, titles, strict=True) if title.startswith("milk")]
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    seen = [item.id for item in client.iter_items(limit=4, q="MILK", status="pending")]
    assert seen == milk_ids[::-1]
    assert counter.count == math.ceil(len(milk_ids) / 4)
    assert all(r.url.params["q"] == "MILK" and r.url.params["status"] == "pending" for r in counter.requests)


def test_items_created_during_iteration_are_not_repeated_and_none_is_skipped(
    connect, live_api: LiveAPI, account: Account
) -> None:
    before = add_items(live_api, account, [f"old {n}" for n in range(23)])
    client = connect(api_key=account.api_key)
    seen = []
    for item in client.iter_items(limit=5):
        seen.append(item.id)
        client.create_item(title=f"new while reading {item.id}")  # newer than everything being read
    assert seen == before[::-1]
    assert len(set(seen)) == len(seen)
    assert client.list_items().total == 46


def test_a_total_past_the_count_cap_is_flagged_as_an_estimate(
    connect, live_api: LiveAPI, account: Account
) -> None:
    add_items(live_api, account, [f"item {n}" for n in range(1050)])
    client = connect(api_key=account.api_key)
    first = client.list_items(limit=10)
    assert (first.total, first.pages, first.total_is_estimate) == (1000, 100, True)
    assert "total=1000+" in repr(first) and "page=1/100+" in repr(first)
    assert "1000+ items" in first._repr_html_() and first.extra == {}
    last = client.list_items(page=105, limit=10)
    assert (last.total, last.total_is_estimate) == (1050, False)
    assert sum(1 for _ in client.iter_items(limit=100)) == 1050

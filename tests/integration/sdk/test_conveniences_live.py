"""The notebook conveniences against the real API, both clients: resuming and bounded iteration,
batch creates, data frames, progress bars, raw responses."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import typing
import uuid

import pytest

import sdk
from tests.integration.sdk.conftest import Account, LiveAPI
from tests.integration.sdk.test_pagination_live import add_items


def count(client: sdk.Client) -> int:
    return sum(1 for _ in client.iter_items(limit=100))


# -- iter_items(after=..., max_items=...) -------------------------------------------------------------


def test_max_items_stops_early_and_fetches_no_page_beyond(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    ids = add_items(live_api, account, [f"item {n}" for n in range(40)])
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    seen = [item.id for item in client.iter_items(limit=10, max_items=25)]
    assert seen == ids[::-1][:25]
    assert [int(r.url.params["limit"]) for r in counter.requests] == [10, 10, 5]
    assert list(client.iter_items(max_items=0)) == [] and counter.count == 3  # nothing asked for


def test_an_interrupted_iteration_resumes_after_its_last_id(
    connect, live_api: LiveAPI, account: Account
) -> None:
    ids = add_items(live_api, account, [f"item {n}" for n in range(35)])
    client = connect(api_key=account.api_key)
    first = client.iter_items(limit=10)
    seen = []
    for item in first:
        seen.append(item.id)
        if len(seen) == 17:
            break  # as if the API went away mid-iteration
    first.close()
    assert first.last_id == seen[-1]
    seen += [item.id for item in client.iter_items(limit=10, after=first.last_id)]
    assert seen == ids[::-1]  # every item once, none skipped


def test_after_a_deleted_id_continues_after_it(connect, live_api: LiveAPI, account: Account) -> None:
    ids = add_items(live_api, account, [f"item {n}" for n in range(12)])
    client = connect(api_key=account.api_key)
    gone = ids[6]
    client.delete_item(gone)
    rest = [item.id for item in client.iter_items(limit=5, after=gone)]
    assert rest == ids[:6][::-1]
    assert [item.id for item in client.iter_items(after=ids[0])] == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"after": 0}, "after must be a whole number, 1 or more"),
        ({"max_items": -1}, "max_items must be a whole number, 0 or more"),
        ({"limit": 0}, "limit must be a whole number, 1 or more"),
        ({"after": "12"}, "after must be a whole number"),
    ],
)
def test_bad_paging_arguments_are_refused_before_any_request(
    connect, counted, account: Account, options: dict[str, object], message: str
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    with pytest.raises(ValueError, match=message):
        client.iter_items(**options)
    assert counter.count == 0


# -- create_items ----------------------------------------------------------------------------------


def test_create_items_splits_2500_into_three_requests_and_keeps_the_order(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    wanted = [{"title": f"bulk {n}", "metadata": {"n": n}} for n in range(2500)]
    created = client.create_items(wanted, idempotency_key="bulk-2500")
    assert [(i.title, i.metadata) for i in created] == [(w["title"], w["metadata"]) for w in wanted]
    assert all(isinstance(i, sdk.Item) and i.status == "pending" for i in created)
    assert [len(json.loads(r.content)["items"]) for r in counter.requests] == [1000, 1000, 500]
    keys = [r.headers["Idempotency-Key"] for r in counter.requests]
    assert keys == ["bulk-2500", "bulk-2500.1", "bulk-2500.2"]
    assert count(client) == 2500
    # The same call again: the same items, nothing created twice.
    again = client.create_items(wanted, idempotency_key="bulk-2500")
    assert [i.id for i in again] == [i.id for i in created]
    assert count(client) == 2500


def test_create_items_without_a_key_sends_a_fresh_key_per_request(connect, counted, account: Account) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    client.create_items([{"title": f"t {n}"} for n in range(1001)])
    keys = [r.headers["Idempotency-Key"] for r in counter.requests]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(k.startswith("sdk-") for k in keys)


def test_large_items_go_in_smaller_requests_under_the_body_limit(connect, counted, account: Account) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    wanted = [{"title": f"big {n}", "description": "d" * 9_000} for n in range(300)]  # ~2.7 MB in all
    created = client.create_items(wanted)
    assert len(created) == 300 and len(counter.requests) == 3
    assert all(len(r.content) < 1_048_576 for r in counter.requests)


def test_one_invalid_item_refuses_its_request_naming_the_index(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    wanted = [{"title": f"t {n}"} for n in range(1500)]
    wanted[1203] = {"title": "x" * 201}
    with pytest.raises(sdk.ValidationError) as caught:
        client.create_items(wanted, idempotency_key="fix-me")
    assert "items[203].title" in str(caught.value)
    assert caught.value.errors[0]["loc"] == ["body", "items", 203, "title"]
    assert "the 1000 items before this request were created" in "\n".join(caught.value.__notes__)
    assert count(client) == 1000
    wanted[1203] = {"title": "fixed"}  # again with the same key: only what was missing is created
    created = client.create_items(wanted, idempotency_key="fix-me")
    assert len(created) == 1500 and created[1203].title == "fixed"
    assert count(client) == 1500


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ("a title", TypeError, r"items\[2\] must be a dict"),
        ({"description": "x"}, ValueError, r"items\[2\] has no title"),
        ({"title": "t", "colour": "red"}, ValueError, r"items\[2\] has unknown fields \['colour'\]"),
    ],
)
def test_malformed_elements_are_refused_before_anything_is_sent(
    connect, counted, account: Account, bad: object, error: type[Exception], message: str
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    with pytest.raises(error, match=message):
        client.create_items([{"title": "a"}, {"title": "b"}, bad])
    assert counter.count == 0


# -- data frames, progress -------------------------------------------------------------------------


def test_a_page_and_an_iteration_become_data_frames(connect, live_api: LiveAPI, account: Account) -> None:
    client = connect(api_key=account.api_key)
    created = client.create_items([{"title": f"row {n}", "metadata": {"n": n}} for n in range(30)])
    page_frame = client.list_items(limit=10).to_dataframe()
    assert list(page_frame["id"]) == [i.id for i in created[::-1][:10]]
    assert list(page_frame.columns[:5]) == ["id", "user_id", "title", "description", "status"]
    assert str(page_frame["created_at"].dt.tz) == "UTC"
    frame = client.iter_items(limit=7).to_dataframe()
    assert len(frame) == 30 and list(frame["title"]) == [f"row {n}" for n in range(29, -1, -1)]
    assert frame["metadata"].iloc[0] == {"n": 29} and set(frame["status"]) == {"pending"}
    empty = client.iter_items(status="done").to_dataframe()
    assert len(empty) == 0 and "title" in empty.columns


def test_the_async_iteration_becomes_a_data_frame(live_api: LiveAPI, account: Account) -> None:
    async def main() -> tuple[int, list[str]]:
        async with sdk.AsyncClient(base_url=live_api.url, api_key=account.api_key) as client:
            await client.create_items([{"title": f"a{n}"} for n in range(12)])
            frame = await client.iter_items(limit=5, max_items=8).to_dataframe()
            return len(frame), list(frame["title"])

    count, titles = asyncio.run(main())
    assert count == 8 and titles == [f"a{n}" for n in range(11, 3, -1)]


def test_progress_shows_a_bar_counting_to_the_total(
    connect, live_api: LiveAPI, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_items(live_api, account, [f"item {n}" for n in range(23)])
    client = connect(api_key=account.api_key)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)  # tqdm writes to stderr at creation
    items = client.iter_items(limit=10, progress=True)
    assert len(list(items)) == 23
    assert "23/23" in out.getvalue(), out.getvalue()


def test_without_pandas_or_tqdm_one_import_error_names_the_extra(
    connect, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = connect(api_key=account.api_key)
    client.create_item(title="one")
    page = client.list_items()
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tqdm", None)
    with pytest.raises(ImportError, match=r"pip install 'svcstack-sdk\[pandas\]'.*'./python-sdk\[pandas\]'"):
        page.to_dataframe()
    with pytest.raises(ImportError, match=r"to_dataframe\(\) needs pandas"):
        client.iter_items().to_dataframe()
    with pytest.raises(ImportError, match=r"progress=True needs tqdm.*svcstack-sdk\[tqdm\]"):
        client.iter_items(progress=True)


# -- raw responses, repr, typing ---------------------------------------------------------------------


def test_with_raw_response_reads_headers_of_a_success(connect, account: Account) -> None:
    client = connect(api_key=account.api_key)
    raw = client.with_raw_response.create_item(title="raw", idempotency_key=f"raw-{uuid.uuid4()}")
    assert raw.status_code == 201 and raw.request_id and raw.headers["content-type"] == "application/json"
    assert int(raw.headers["RateLimit-Remaining"]) >= 0
    item = raw.parse()
    assert isinstance(item, sdk.Item) and item.title == "raw"
    got = client.with_raw_response.get_item(item.id)
    assert got.status_code == 200 and got.parse() == item and "X-Request-ID" in got.headers
    page = client.with_raw_response.list_items(limit=1)
    assert page.parse().items[0].id == item.id and "RateLimit-Limit" in page.headers
    assert client.with_raw_response.delete_item(item.id).status_code == 204
    assert client.with_raw_response.health().parse().healthy
    assert client.with_raw_response.request("GET", "/api/v1/auth/me").parse()["id"] == account.user_id
    with pytest.raises(sdk.NotFoundError):
        client.with_raw_response.get_item(item.id)  # errors raise as without it


def test_the_repr_shows_timeout_and_retries(connect, account: Account) -> None:
    client = connect(api_key=account.api_key, timeout=12.5, max_retries=4)
    text = repr(client)
    assert "timeout=12.5" in text and "max_retries=4" in text and "retry_budget=60" in text
    assert account.api_key not in text


def test_item_status_is_a_literal_of_the_four_statuses() -> None:
    hints = typing.get_type_hints(sdk.Item)
    assert typing.get_args(hints["status"]) == ("pending", "processing", "done", "failed")
    assert typing.get_args(sdk.ItemStatus) == ("pending", "processing", "done", "failed")

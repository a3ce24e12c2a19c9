"""POST /api/v1/items/batch on both backends: up to 1,000 items in one transaction, each checked as a
single create is, all refused when one is invalid (the error naming its index), idempotent by key."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from store.models import Item
from tests.integration.api.conftest import Caller, LiveApi
from tests.integration.api.test_bad_input import assert_error, snapshot
from tests.integration.api.test_hostile_input import nested

BATCH = "/api/v1/items/batch"


def count_prefixed(live_api: LiveApi, prefix: str) -> int:
    with live_api.database.session() as session:
        query = select(func.count()).select_from(Item).where(Item.title.startswith(prefix))
        return session.scalar(query) or 0


def titles(prefix: str, n: int) -> list[dict[str, object]]:
    return [{"title": f"{prefix} {i}"} for i in range(n)]


def test_a_batch_is_created_in_order_and_owned_by_the_caller(http: httpx.Client, owner: Caller) -> None:
    prefix = uuid.uuid4().hex
    body = {
        "items": [
            {"title": f"{prefix} a"},
            {"title": f"{prefix} b", "description": "second", "metadata": {"n": 2}},
            {"title": f"{prefix} c", "metadata": {"tags": ["x"]}},
        ]
    }
    response = http.post(BATCH, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [i["title"] for i in items] == [f"{prefix} a", f"{prefix} b", f"{prefix} c"]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)
    assert {i["status"] for i in items} == {"pending"} and {i["user_id"] for i in items} == {owner.id}
    assert items[1]["description"] == "second" and items[1]["metadata"] == {"n": 2}
    for item in items:
        assert http.get(f"/api/v1/items/{item['id']}", headers=owner.headers).json() == item


def test_one_thousand_items_are_accepted_and_1001_refused_naming_the_limit(
    live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    prefix = uuid.uuid4().hex
    created = http.post(BATCH, json={"items": titles(prefix, 1000)}, headers=owner.headers)
    assert created.status_code == 201, created.text[:500]
    assert len(created.json()["items"]) == 1000
    assert count_prefixed(live_api, prefix) == 1000
    other = uuid.uuid4().hex
    refused = http.post(BATCH, json={"items": titles(other, 1001)}, headers=owner.headers)
    assert_error(refused, 422, "validation_error")
    assert "1000" in refused.json()["error"]["message"], refused.json()["error"]["message"]
    assert count_prefixed(live_api, other) == 0


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"title": ""}, "items[5].title"),
        ({"title": "x" * 201}, "items[5].title"),
        ({"description": "no title"}, "items[5].title"),
        ({"title": "t", "metadata": nested(40)}, "items[5].metadata"),
        ({"title": "t", "metadata": {"k": "m" * 17_000}}, "items[5].metadata"),
        ({"title": "t\x00"}, "items[5].title"),
        ({"title": "t", "colour": "red"}, "items[5].colour"),
    ],
)
def test_one_invalid_item_refuses_the_whole_batch_and_the_error_names_its_index(
    bad: dict[str, object], where: str, live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    prefix = uuid.uuid4().hex
    items = titles(prefix, 8)
    items[5] = bad
    before = snapshot(live_api)
    response = http.post(BATCH, json={"items": items}, headers=owner.headers)
    assert_error(response, 422, "validation_error")
    error = response.json()["error"]
    assert where in error["message"], error["message"]
    assert error["details"][0]["loc"][:3] == ["body", "items", 5]
    assert snapshot(live_api) == before


@pytest.mark.parametrize("body", [{"items": []}, {"items": {"title": "x"}}, [{"title": "x"}], {}])
def test_a_batch_of_nothing_or_not_a_list_is_422(body: object, http: httpx.Client, owner: Caller) -> None:
    assert_error(http.post(BATCH, json=body, headers=owner.headers), 422, "validation_error")


def test_a_batch_over_the_body_limit_is_413_and_stores_nothing(
    live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    prefix = uuid.uuid4().hex
    items = [{"title": f"{prefix} {i}", "description": "d" * 9_000} for i in range(200)]  # ~1.8 MB
    before = snapshot(live_api)
    assert_error(http.post(BATCH, json={"items": items}, headers=owner.headers), 413, "payload_too_large")
    assert snapshot(live_api) == before


def test_the_same_key_replays_the_first_answer_and_creates_nothing_new(
    live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    prefix = uuid.uuid4().hex
    headers = {**owner.headers, "Idempotency-Key": f"batch-{prefix}"}
    body = {"items": titles(prefix, 20)}
    first = http.post(BATCH, json=body, headers=headers)
    second = http.post(BATCH, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_prefixed(live_api, prefix) == 20
    conflict = http.post(BATCH, json={"items": titles(prefix, 21)}, headers=headers)
    assert_error(conflict, 409, "conflict")
    assert count_prefixed(live_api, prefix) == 20


def test_a_refused_batch_leaves_its_key_free_for_the_corrected_batch(
    live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    prefix = uuid.uuid4().hex
    headers = {**owner.headers, "Idempotency-Key": f"fix-{prefix}"}
    items = titles(prefix, 4)
    assert http.post(BATCH, json={"items": [*items, {"title": ""}]}, headers=headers).status_code == 422
    fixed = http.post(BATCH, json={"items": items}, headers=headers)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert count_prefixed(live_api, prefix) == 4


def test_concurrent_duplicate_batches_create_the_batch_once(live_api: LiveApi, owner: Caller) -> None:
    prefix = uuid.uuid4().hex
    headers = {**owner.headers, "Idempotency-Key": f"race-{prefix}"}
    body = {"items": titles(prefix, 50)}
    senders = 8
    barrier = threading.Barrier(senders)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with live_api.client() as client:  # own connection each: spread over both workers
            client.get("/health")
            barrier.wait(timeout=30)
            response = client.post(BATCH, json=body, headers=headers)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(responses) == senders
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({tuple(i["id"] for i in r.json()["items"]) for r in responses}) == 1
    assert count_prefixed(live_api, prefix) == 50


def test_keys_are_per_user_for_batches_too(
    live_api: LiveApi, http: httpx.Client, owner: Caller, other: Caller
) -> None:
    prefix = uuid.uuid4().hex
    key = {"Idempotency-Key": f"shared-{prefix}"}
    body = {"items": titles(prefix, 3)}
    mine = http.post(BATCH, json=body, headers={**owner.headers, **key}).json()["items"]
    theirs = http.post(BATCH, json=body, headers={**other.headers, **key}).json()["items"]
    assert {i["user_id"] for i in theirs} == {other.id} and not {i["id"] for i in mine} & {
        i["id"] for i in theirs
    }
    assert count_prefixed(live_api, prefix) == 6

"""Idempotency-Key: a repeated create returns the first response and creates nothing new."""

from __future__ import annotations

import threading
import uuid

import httpx
from sqlalchemy import func, select

from store.models import Item
from tests.integration.api.conftest import Caller, LiveApi


def count_titled(live_api: LiveApi, title: str) -> int:
    with live_api.database.session() as session:
        return session.scalar(select(func.count()).select_from(Item).where(Item.title == title)) or 0


def test_same_key_twice_returns_the_first_response(
    live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    title = f"once-{uuid.uuid4().hex}"
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    first = http.post("/api/v1/items", json={"title": title}, headers=headers)
    second = http.post("/api/v1/items", json={"title": title}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count_titled(live_api, title) == 1


def test_same_key_with_another_body_is_409(live_api: LiveApi, http: httpx.Client, owner: Caller) -> None:
    key = uuid.uuid4().hex
    title = f"first-{key}"
    assert (
        http.post(
            "/api/v1/items", json={"title": title}, headers={**owner.headers, "Idempotency-Key": key}
        ).status_code
        == 201
    )
    conflict = http.post(
        "/api/v1/items", json={"title": "something else"}, headers={**owner.headers, "Idempotency-Key": key}
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert count_titled(live_api, "something else") == 0


def test_keys_are_per_user(live_api: LiveApi, http: httpx.Client, owner: Caller, other: Caller) -> None:
    key = uuid.uuid4().hex
    title = f"shared-key-{key}"
    mine = http.post(
        "/api/v1/items", json={"title": title}, headers={**owner.headers, "Idempotency-Key": key}
    )
    theirs = http.post(
        "/api/v1/items", json={"title": title}, headers={**other.headers, "Idempotency-Key": key}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"] and theirs.json()["user_id"] == other.id
    assert count_titled(live_api, title) == 2


def test_concurrent_duplicates_create_one_item(live_api: LiveApi, owner: Caller) -> None:
    title = f"raced-{uuid.uuid4().hex}"
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    senders = 12
    barrier = threading.Barrier(senders)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with live_api.client() as client:  # own connection each: spread over both workers
            client.get("/health")
            barrier.wait(timeout=30)
            response = client.post("/api/v1/items", json={"title": title}, headers=headers)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(responses) == senders
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert count_titled(live_api, title) == 1


def test_without_a_key_every_create_is_new(live_api: LiveApi, http: httpx.Client, owner: Caller) -> None:
    title = f"twice-{uuid.uuid4().hex}"
    for _ in range(2):
        assert http.post("/api/v1/items", json={"title": title}, headers=owner.headers).status_code == 201
    assert count_titled(live_api, title) == 2

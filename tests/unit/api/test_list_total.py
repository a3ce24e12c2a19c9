"""`total` on long lists: exact near the end, a flagged lower bound far from it, and paging still works
(the count is capped so that no list request reads a user's whole index range)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import api.routes.items
from api.app import create_app
from config.config import load
from store.accounts import create_api_key, create_user_with_hash
from store.migrate import upgrade
from tests.integration.api.bulk import bulk_insert_items
from tests.support.passwords import hashed


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # A cap of 20 stands for the real 1,000: the same arithmetic on 30 items instead of 1,030.
    monkeypatch.setattr(api.routes.items, "COUNT_CAP", 20)
    settings = load({"APP_HOME": str(tmp_path)}, environ={})
    upgrade(settings.DATABASE_URL)
    app = create_app(settings)
    with app.state.db.session() as session:
        user = create_user_with_hash(session, email="u@example.com", password_hash=hashed("long enough"))
        key = create_api_key(session, user_id=user.id, name="t")[1]
    bulk_insert_items(app.state.db.engine, user_id=user.id, count=30)

    def get(params: dict[str, int]) -> dict[str, Any]:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await http.get("/api/v1/items", params=params, headers={"X-API-Key": key})

        response = asyncio.run(go())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    yield get
    app.state.db.dispose()


def test_far_from_the_end_total_is_a_flagged_lower_bound(client: Any) -> None:
    first = client({"limit": 5})
    assert (first["total"], first["pages"], first["total_is_estimate"]) == (20, 4, True)
    assert len(first["items"]) == 5 and first["next_cursor"] is not None


def test_total_becomes_exact_as_the_reader_gets_near_the_end(client: Any) -> None:
    third = client({"limit": 5, "page": 3})  # offset 10: 20 more are counted, and that reaches the end
    assert (third["total"], third["pages"], third["total_is_estimate"]) == (30, 6, False)
    last = client({"limit": 5, "page": 6})
    assert (last["total"], last["total_is_estimate"], last["next_cursor"]) == (30, False, None)


def test_paging_by_the_reported_pages_reaches_every_item(client: Any) -> None:
    seen: list[int] = []
    page = 1
    while True:
        body = client({"limit": 5, "page": page})
        seen += [item["id"] for item in body["items"]]
        if page >= body["pages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 30 and seen == sorted(seen, reverse=True)


def test_cursor_pages_carry_the_same_bounded_total(client: Any) -> None:
    first = client({"limit": 5})
    second = client({"limit": 5, "after": first["next_cursor"]})
    assert (second["total"], second["total_is_estimate"]) == (20, True)
    assert second["items"][0]["id"] < first["items"][-1]["id"]

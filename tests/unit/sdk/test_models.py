"""Models: built from API JSON, unknown fields kept aside, aware datetimes, short reprs, round trips."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

from sdk import HealthStatus, Item, PaginatedResponse
from tests.unit.sdk.conftest import item_json


def page_json(count: int = 3) -> dict:
    return {
        "items": [item_json(i) for i in range(count, 0, -1)],
        "total": 10,
        "page": 1,
        "limit": count,
        "pages": 4,
        "next_cursor": 1,
    }


def test_item_from_dict_parses_aware_datetimes_and_keeps_unknown_fields_aside() -> None:
    item = Item.from_dict(item_json(3, created_at="2026-11-29T03:00:00+02:00", lease_owner="w1"))
    assert item.created_at == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    assert item.created_at.utcoffset() == timedelta(hours=2)
    assert item.extra == {"lease_owner": "w1"}
    assert "lease_owner" not in repr(item)


def test_a_datetime_without_offset_is_taken_as_utc() -> None:
    item = Item.from_dict(item_json(created_at="2026-11-29T03:00:00", updated_at="2026-11-29T03:00:00Z"))
    assert item.created_at.tzinfo is not None and item.updated_at.tzinfo is not None


def test_a_page_builds_the_same_items_whatever_fields_each_row_has() -> None:
    # Rows with every field take a quicker path than rows missing a field or carrying an unknown
    # one: the items must come out the same either way.
    full = item_json(3, created_at="2026-11-29T03:00:00")
    missing = {k: v for k, v in item_json(2, created_at="2026-11-29T03:00:00").items() if k != "attempts"}
    unknown = item_json(1, created_at="2026-11-29T03:00:00", lease_owner="w1")
    page = PaginatedResponse.from_dict({**page_json(0), "items": [full, missing, unknown]})
    assert [type(item) for item in page] == [Item, Item, Item]
    assert {item.created_at for item in page} == {datetime(2026, 11, 29, 3, 0, tzinfo=UTC)}
    assert [item.attempts for item in page] == [0, 0, 0]
    assert [item.extra for item in page] == [{}, {}, {"lease_owner": "w1"}]
    built = Item(
        id=3,
        user_id=7,
        title="item 3",
        description="",
        status="pending",
        metadata={},
        created_at=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
    )
    assert page[0] == built and vars(page[0]) == vars(built)
    assert [Item.from_dict(row) for row in (full, missing, unknown)] == page.items


def test_item_repr_is_short_even_for_long_text() -> None:
    item = Item.from_dict(item_json(4, title="x" * 500, description="y" * 10_000, metadata={"k": "v" * 999}))
    text = repr(item)
    assert text.startswith("Item(id=4, title='xxx") and len(text) < 140 and "yyy" not in text


def test_to_dict_round_trips_and_is_json_ready() -> None:
    data = item_json(5, metadata={"a": [1, 2]}, future_field=True)
    item = Item.from_dict(data)
    assert item.to_dict() == data
    assert Item.from_dict(item.to_dict()) == item


def test_models_pickle() -> None:
    page = PaginatedResponse.from_dict(page_json())
    assert pickle.loads(pickle.dumps(page)) == page
    item = page.items[0]
    assert pickle.loads(pickle.dumps(item)) == item


def test_a_page_is_iterable_sized_and_indexable() -> None:
    page = PaginatedResponse.from_dict(page_json(3))
    assert [item.id for item in page] == [3, 2, 1]
    assert len(page) == 3 and page[0].id == 3 and page.has_more
    assert all(isinstance(item, Item) for item in page.items)
    assert repr(page) == "PaginatedResponse(page=1/4, items=3, total=10, limit=3)"
    assert PaginatedResponse.from_dict(page.to_dict()) == page


def test_an_estimated_total_is_a_field_shown_as_a_lower_bound() -> None:
    data = {**page_json(3), "total": 1000, "pages": 334, "total_is_estimate": True}
    page = PaginatedResponse.from_dict(data)
    assert page.total_is_estimate is True and page.extra == {}
    assert repr(page) == "PaginatedResponse(page=1/334+, items=3, total=1000+, limit=3)"
    assert "page 1 of 334+ · 3 of 1000+ items" in page._repr_html_()
    assert page.to_dict()["total_is_estimate"] is True
    exact = PaginatedResponse.from_dict({**page_json(3), "total_is_estimate": False})
    assert not exact.total_is_estimate and "+" not in repr(exact)


def test_a_page_shows_as_an_html_table_with_escaped_titles() -> None:
    data = page_json(2)
    data["items"][0]["title"] = "<script>alert(1)</script>"
    html = PaginatedResponse.from_dict(data)._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == 3
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "page 1 of 4" in html


def test_health_status_has_the_reference_fields() -> None:
    health = HealthStatus.from_dict(
        {
            "status": "healthy",
            "uptime_seconds": 12,
            "database": {"reachable": True, "backend": "sqlite"},
            "connection_pool": {"size": 5},
            "version": "1.2",
        }
    )
    assert (health.status, health.uptime_seconds, health.connection_pool) == ("healthy", 12, {"size": 5})
    assert health.healthy and health.extra == {"version": "1.2"}
    assert repr(health) == "HealthStatus(status='healthy', uptime_seconds=12, database='sqlite')"

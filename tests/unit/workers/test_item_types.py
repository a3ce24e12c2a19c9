"""ClaimedItem (the whole row, read-only) and ItemResult (the columns to set) as a worker uses them."""

from __future__ import annotations

import pytest

from workers import ClaimedItem, ItemResult, PermanentError


def test_a_claimed_item_gives_every_column_by_attribute_and_by_name() -> None:
    item = ClaimedItem({"id": 7, "attempts": 2, "url": "https://x", "metadata": {"a": 1}})
    assert (item.id, item.attempts, item.url, item["url"], item.metadata) == (
        7,
        2,
        "https://x",
        "https://x",
        {"a": 1},
    )
    assert dict(item.row) == {"id": 7, "attempts": 2, "url": "https://x", "metadata": {"a": 1}}
    with pytest.raises(AttributeError, match=r"no column 'title' \(columns: id, attempts, url, metadata\)"):
        _ = item.title
    with pytest.raises(AttributeError, match="read-only"):
        item.url = "other"
    with pytest.raises(TypeError):
        item.row["url"] = "other"  # type: ignore[index]
    assert item == ClaimedItem(dict(item.row)) and "https://x" in repr(item)


def test_an_item_result_keeps_what_is_left_out_or_none() -> None:
    result = ItemResult(title="T", metadata=None, status_code=200, checked_at=None)
    assert result.values == {"title": "T", "status_code": 200}
    assert (result.title, result.description, result.metadata) == ("T", None, None)
    assert ItemResult().values == {} and ItemResult("x") == ItemResult(title="x")
    assert repr(result) == "ItemResult(title='T', status_code=200)"
    with pytest.raises(AttributeError):
        result.title = "other"  # type: ignore[misc]


def test_permanent_error_is_an_exception_with_its_message() -> None:
    assert str(PermanentError("not a URL")) == "not a URL" and issubclass(PermanentError, Exception)

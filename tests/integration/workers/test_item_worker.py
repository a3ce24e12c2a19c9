"""ItemWorker in-process on both backends: what ``process_item`` returns is written under the
lease (title, description, metadata; None keeps a field), and a wrong return value is that item's
error with a message saying what is wrong, never the batch's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from config.config import load
from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase
from workers.item_worker import ClaimedItem, ItemResult, ItemWorker


class ScriptedItems(ItemWorker):
    """``process_item`` answers from a function of the item's title."""

    worker_name = "scripted_items"

    def __init__(self, answer: Callable[[ClaimedItem], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answer = answer

    def process_item(self, item: ClaimedItem) -> ItemResult:
        return self.answer(item)  # type: ignore[no-any-return]


@pytest.fixture
def run_batch(items_db: ItemsDatabase) -> Iterator[Callable[[Callable[[ClaimedItem], Any]], int]]:
    workers: list[ItemWorker] = []

    def run(answer: Callable[[ClaimedItem], Any]) -> int:
        settings = load({"DATABASE_URL": items_db.url, "WORKER_MAX_RETRIES": "2"}, environ={})
        worker = ScriptedItems(answer, settings=settings, health_port=None, handle_signals=False, once=True)
        workers.append(worker)
        return worker.process_batch()

    yield run
    for worker in workers:
        worker.stop()


def test_a_result_changes_title_description_and_metadata_under_the_lease(
    items_db: ItemsDatabase, run_batch: Callable[[Callable[[ClaimedItem], Any]], int]
) -> None:
    ids = items_db.add_items(3, metadata={"kept": True})

    def answer(item: ClaimedItem) -> ItemResult | None:
        if item.id == ids[0]:
            return ItemResult(title="renamed", description="new words", metadata={"only": 1})
        if item.id == ids[1]:
            return ItemResult(title=item.title + "!")  # metadata and description kept
        return None  # done, nothing changed

    assert run_batch(answer) == 3
    rows = [(i.status, i.title, i.description, i.metadata_, i.claim_token) for i in items_db.items()]
    assert rows == [
        (ItemStatus.DONE, "renamed", "new words", {"only": 1}, None),
        (ItemStatus.DONE, "item 1!", "some words to count", {"kept": True}, None),
        (ItemStatus.DONE, "item 2", "some words to count", {"kept": True}, None),
    ]


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (
            {"result": 1},
            "ScriptedItems.process_item() must return an ItemResult or None, it returned {'result': 1}",
        ),
        (ItemResult(title="x" * 201), "title of 201 characters; at most 200 fit"),
        (ItemResult(title=5), "ItemResult.title must be text, got 5"),  # type: ignore[arg-type]
        (ItemResult(metadata=[1]), "ItemResult.metadata must be a dict, got [1]"),  # type: ignore[arg-type]
        (ItemResult(metadata={"when": object}), "is not JSON serializable"),
        (ItemResult(user_id=1), "'user_id' of 'items' is not for a worker to change"),
        (ItemResult(status="done"), "'status' is a queue column of 'items'"),
        (ItemResult(priority=1), "table 'items' has no column 'priority'"),
    ],
)
def test_a_wrong_result_is_that_items_error_and_the_others_are_written(
    items_db: ItemsDatabase,
    run_batch: Callable[[Callable[[ClaimedItem], Any]], int],
    returned: Any,
    message: str,
) -> None:
    bad, good = items_db.add_items(2)
    assert run_batch(lambda item: returned if item.id == bad else ItemResult(title="fine")) == 2
    items = {item.id: item for item in items_db.items()}
    assert items[good].status == ItemStatus.DONE and items[good].title == "fine"
    assert items[bad].status == ItemStatus.PENDING  # retried later, then failed
    assert items[bad].title == "item 0"
    assert items[bad].error is not None and message in items[bad].error

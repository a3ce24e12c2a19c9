"""ExampleWorker in-process: the reference's test verbatim, on a fresh home and on a database with items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.workers.support import ItemsDatabase
from workers import ExampleWorker
from workers.example_worker import text_stats


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh clone's shape: config's defaults, nothing migrated (DATABASE_URL = APP_HOME/var/app.db)."""
    monkeypatch.setenv("APP_HOME", str(tmp_path))
    yield tmp_path


@pytest.fixture
def home_with_items(fresh_home: Path) -> Iterator[ItemsDatabase]:
    db = ItemsDatabase.create(f"sqlite:///{fresh_home / 'var' / 'app.db'}")
    db.add_items(3)
    yield db
    db.close()


def test_worker(fresh_home: Path) -> None:
    worker = ExampleWorker(worker_id=0)
    processed = worker.process_batch()
    assert processed >= 0
    worker.stop()


def test_worker_with_items(home_with_items: ItemsDatabase) -> None:
    worker = ExampleWorker(worker_id=0)
    processed = worker.process_batch()
    assert processed >= 0
    worker.stop()
    assert processed == 3
    assert home_with_items.counts() == {"done": 3}


def test_without_migrations_a_batch_handles_nothing_and_says_why(fresh_home: Path) -> None:
    worker = ExampleWorker(worker_id=0)
    assert worker.process_batch() == 0
    assert worker.status.not_ready_reason == (
        "the items table does not exist yet: run the migrations (the API runs them at start)"
    )
    worker.stop()


def test_result_is_written_into_metadata_next_to_what_was_there(home_with_items: ItemsDatabase) -> None:
    [item_id] = home_with_items.add_items(
        1, title="Hello hello", description="World\nof words", metadata={"source": "test"}
    )
    worker = ExampleWorker(worker_id=4, batch_size=10)
    worker.process_batch()
    worker.stop()
    item = next(i for i in home_with_items.items() if i.id == item_id)
    assert item.status == "done" and item.attempts == 1 and item.error is None
    assert item.metadata_["source"] == "test"
    result = item.metadata_["result"]
    assert {k: result[k] for k in ("words", "chars", "lines", "unique_words", "top_words", "attempt")} == {
        "words": 6,
        "chars": 28,
        "lines": 3,
        "unique_words": 5,
        "top_words": ["hello", "0", "world"],
        "attempt": 1,
    }
    assert result["worker"].endswith("example_worker-4")
    assert item.claim_token is None and item.claimed_by is None and item.lease_expires_at is None


def test_text_stats_of_an_empty_description() -> None:
    assert text_stats("One two two", "") == {
        "words": 3,
        "chars": 11,
        "lines": 1,
        "unique_words": 2,
        "top_words": ["two", "one"],
    }

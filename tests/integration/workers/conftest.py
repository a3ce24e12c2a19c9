"""Fixtures for worker integration tests: a migrated database (both backends) with one user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.workers.support import ItemsDatabase


@pytest.fixture
def items_db(database_url: str) -> Iterator[ItemsDatabase]:
    db = ItemsDatabase.create(database_url)
    yield db
    db.close()

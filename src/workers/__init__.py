"""Background workers: the generic loop (``BaseWorker``), the item pipeline (``ItemWorker``,
``ClaimedItem``, ``ItemResult``, ``PermanentError``) and its example (``ExampleWorker``).

    from workers import BaseWorker, ItemWorker, ItemResult, PermanentError, ExampleWorker

The item classes are imported on first use: ``workers.base_worker`` stays a plain library that
loads neither the database layer nor the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.base_worker import BaseWorker, WorkerError

if TYPE_CHECKING:
    from workers.example_worker import ExampleWorker
    from workers.item_worker import ClaimedItem, ItemResult, ItemWorker, PermanentError

__all__ = [
    "BaseWorker",
    "ClaimedItem",
    "ExampleWorker",
    "ItemResult",
    "ItemWorker",
    "PermanentError",
    "WorkerError",
]


def __getattr__(name: str) -> Any:
    if name == "ExampleWorker":
        from workers.example_worker import ExampleWorker

        return ExampleWorker
    if name in ("ClaimedItem", "ItemWorker", "ItemResult", "PermanentError"):
        from workers import item_worker

        return getattr(item_worker, name)
    raise AttributeError(f"module 'workers' has no attribute {name!r}")

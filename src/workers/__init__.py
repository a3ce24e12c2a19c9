"""Background workers: the generic loop (``BaseWorker``), the item pipeline (``ItemWorker``,
``ItemResult``) and its example (``ExampleWorker``).

    from workers import BaseWorker, ItemWorker, ItemResult, ExampleWorker

The item classes are imported on first use: ``workers.base_worker`` stays a plain library that
loads neither the database layer nor the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.base_worker import BaseWorker, WorkerError

if TYPE_CHECKING:
    from workers.example_worker import ExampleWorker
    from workers.item_worker import ItemResult, ItemWorker

__all__ = ["BaseWorker", "ExampleWorker", "ItemResult", "ItemWorker", "WorkerError"]


def __getattr__(name: str) -> Any:
    if name == "ExampleWorker":
        from workers.example_worker import ExampleWorker

        return ExampleWorker
    if name in ("ItemWorker", "ItemResult"):
        from workers import item_worker

        return getattr(item_worker, name)
    raise AttributeError(f"module 'workers' has no attribute {name!r}")

"""Background workers: the generic loop (``BaseWorker``), the item pipeline (``ItemWorker``,
``ClaimedItem``, ``ItemResult``, ``PermanentError``), options declared once (``Option``) and the
example (``ExampleWorker``); ``python -m workers run MODULE:CLASS`` runs any of them (``workers.cli``).

    from workers import BaseWorker, ItemWorker, ItemResult, Option, PermanentError, ExampleWorker

The item classes are imported on first use: ``workers.base_worker`` stays a plain library that
loads neither the database layer nor the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.base_worker import BaseWorker, WorkerError
from workers.options import Option

if TYPE_CHECKING:
    from workers.example_worker import ExampleWorker
    from workers.item_worker import ClaimedItem, ItemResult, ItemWorker, PermanentError

__all__ = [
    "BaseWorker",
    "ClaimedItem",
    "ExampleWorker",
    "ItemResult",
    "ItemWorker",
    "Option",
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

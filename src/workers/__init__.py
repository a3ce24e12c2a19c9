"""Background workers: the generic loop (``BaseWorker``) and the item processor (``ExampleWorker``).

    from workers import BaseWorker, ExampleWorker

``ExampleWorker`` is imported on first use: ``workers.base_worker`` stays a plain library that
loads neither the database layer nor the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.base_worker import BaseWorker, WorkerError

if TYPE_CHECKING:
    from workers.example_worker import ExampleWorker

__all__ = ["BaseWorker", "ExampleWorker", "WorkerError"]


def __getattr__(name: str) -> Any:
    if name == "ExampleWorker":
        from workers.example_worker import ExampleWorker

        return ExampleWorker
    raise AttributeError(f"module 'workers' has no attribute {name!r}")

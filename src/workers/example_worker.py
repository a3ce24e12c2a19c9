"""ExampleWorker: text statistics of each item into ``metadata["result"]``; the queue work is
``ItemWorker``'s (docs/extending.md). ``python -m workers.example_worker --health-port auto``

Metadata ``"fail": true`` raises on every attempt (a poison item, ``failed`` after
WORKER_MAX_RETRIES); WORKER_SIMULATED_WORK adds seconds of work per item (demos and tests).
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from typing import Any

from store.item_store import utcnow
from workers.item_worker import ClaimedItem, ItemResult, ItemWorker
from workers.options import Option, non_negative_seconds

POISON_KEY = "fail"
_WORD = re.compile(r"\w+")


class PoisonItemError(Exception):
    """The item asks to fail (metadata ``{"fail": true}``)."""


def text_stats(title: str, description: str) -> dict[str, Any]:
    """Cheap, real statistics of an item's text."""
    text = f"{title}\n{description}" if description else title
    words = _WORD.findall(text.lower())
    return {
        "words": len(words),
        "chars": len(text),
        "lines": text.count("\n") + 1,
        "unique_words": len(set(words)),
        "top_words": [word for word, _ in Counter(words).most_common(3)],
    }


class ExampleWorker(ItemWorker):
    """Claims pending items in batches and writes text statistics into their metadata."""

    worker_name = "example_worker"

    simulated_work = Option("WORKER_SIMULATED_WORK", parse=non_negative_seconds, minimum=0, metavar="SECONDS")

    def process_item(self, item: ClaimedItem) -> ItemResult:
        if item.metadata.get(POISON_KEY):
            raise PoisonItemError(f'metadata has "{POISON_KEY}": true')
        if self.simulated_work > 0:
            time.sleep(self.simulated_work)  # a stand-in for real work (demos and tests)
        result = {
            **text_stats(item.title, item.description),
            "attempt": item.attempts,
            "worker": self.label,
            "processed_at": utcnow().isoformat(),
        }
        return ItemResult(metadata={**item.metadata, "result": result})


if __name__ == "__main__":
    sys.exit(ExampleWorker.main())

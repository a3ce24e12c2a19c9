"""The optional extras: pandas for ``to_dataframe()``, tqdm for ``progress=True``.

Neither is a dependency of the SDK (``pip install './python-sdk[pandas]'`` or ``[tqdm]`` adds
them); each is imported only when first asked for, and its absence is one clear ImportError naming
the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sdk.models import Item

DISTRIBUTION = "svcstack-sdk"

# The columns of a data frame of items, in this order; fields the SDK does not know follow them.
ITEM_COLUMNS = (
    "id",
    "user_id",
    "title",
    "description",
    "status",
    "metadata",
    "attempts",
    "error",
    "created_at",
    "updated_at",
)


def require(module: str, extra: str, purpose: str) -> Any:
    """Import ``module`` or raise an ImportError saying which extra of the SDK brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs {module.split('.')[0]}, an optional extra of the SDK: "
            f"pip install '{DISTRIBUTION}[{extra}]' "
            f"(from the repository: pip install './python-sdk[{extra}]')",
            name=module,
        ) from exc


def items_dataframe(items: Iterable[Item]) -> Any:
    """A ``pandas.DataFrame`` of ``items``: one row per item, in order, one column per field.

    ``created_at`` and ``updated_at`` are timezone-aware (UTC) datetime columns, ``status`` is a
    string column, ``metadata`` holds each item's dict. Empty input gives an empty frame with the
    same columns.
    """
    pd = require("pandas", "pandas", "to_dataframe()")
    rows = [
        {
            "id": item.id,
            "user_id": item.user_id,
            "title": item.title,
            "description": item.description,
            "status": item.status,
            "metadata": item.metadata,
            "attempts": item.attempts,
            "error": item.error,
            "created_at": item.created_at,
            "updated_at": item.updated_at,
            **item.extra,
        }
        for item in items
    ]
    frame = pd.DataFrame(rows, columns=None if rows else list(ITEM_COLUMNS))
    for name in ("created_at", "updated_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def progress_bar(total: int | None, description: str) -> Any:
    """A tqdm bar to ``update()`` by hand: a widget in Jupyter when ipywidgets is installed (as
    ``tqdm.auto`` picks), else text on stderr (without tqdm.auto's warning about ipywidgets)."""
    require("tqdm", "tqdm", "progress=True")
    try:
        importlib.import_module("ipywidgets")
        bars = importlib.import_module("tqdm.auto")
    except ImportError:
        bars = importlib.import_module("tqdm.std")
    return bars.tqdm(total=total, desc=description, unit="item")

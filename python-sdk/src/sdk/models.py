"""What the API returns, as plain dataclasses.

    item = Item.from_dict(payload)      # unknown fields are kept aside in item.extra, not in the repr
    item.created_at.tzinfo              # datetimes are timezone-aware
    Item.from_dict(item.to_dict()) == item

They pickle, compare by value, and show as a table in Jupyter (``_repr_html_``).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar

from sdk._extras import items_dataframe

__all__ = ["ApiKey", "ApiKeyPage", "HealthStatus", "Item", "ItemStatus", "PaginatedResponse"]

ItemStatus: TypeAlias = Literal["pending", "processing", "done", "failed"]
"""An item's status: ``pending`` (queued), ``processing`` (a worker has it), ``done`` or ``failed``."""

FINISHED_STATUSES: frozenset[str] = frozenset({"done", "failed"})

M = TypeVar("M", bound="_Model")


def parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 text to an aware datetime; a value without an offset is taken as UTC."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls)) - {"extra"}


class _Model:
    """from_dict / to_dict shared by the models; subclasses are dataclasses with an ``extra`` field."""

    _datetime_fields: ClassVar[tuple[str, ...]] = ()
    extra: dict[str, Any]

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        return cls.from_dicts((data,))[0]

    @classmethod
    def from_dicts(cls: type[M], rows: Iterable[Mapping[str, Any]]) -> list[M]:
        """Many at once (a page's items; iter_items builds thousands): lookups made once, not per row."""
        known = _field_names(cls)  # type: ignore[arg-type]
        datetime_fields = cls._datetime_fields
        fromisoformat = datetime.fromisoformat
        models: list[M] = []
        for data in rows:
            if data.keys() != known:  # a field missing (default) or unknown (kept in extra)
                models.append(cls._from_other_dict(data, known))
                continue
            # Every field present and nothing unknown: the copied dict becomes the instance's
            # __dict__ (as unpickling does), without keyword arguments through __init__.
            values = dict(data)
            for name in datetime_fields:
                value = values[name]
                if value.__class__ is str:
                    value = fromisoformat(value)
                    values[name] = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
                else:
                    values[name] = parse_datetime(value)
            values["extra"] = {}
            model = cls.__new__(cls)
            model.__dict__ = values
            models.append(model)
        return models

    @classmethod
    def _from_other_dict(cls: type[M], data: Mapping[str, Any], known: frozenset[str]) -> M:
        values = {k: v for k, v in data.items() if k in known}
        for name in cls._datetime_fields:
            if name in values:
                values[name] = parse_datetime(values[name])
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra)  # type: ignore[call-arg]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO-8601 text; fields the SDK does not know are included again."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        out.update(self.extra)
        return out


@dataclass
class HealthStatus(_Model):
    """What ``client.health()`` reports: ``status`` ("healthy" or "unhealthy"), uptime, database, pool."""

    status: str
    uptime_seconds: int
    connection_pool: dict[str, Any] = field(default_factory=dict)
    database: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def healthy(self) -> bool:
        """True when the API and its database answer."""
        return self.status == "healthy"

    def __repr__(self) -> str:
        backend = self.database.get("backend", "?")
        return (
            f"HealthStatus(status={self.status!r}, uptime_seconds={self.uptime_seconds}, "
            f"database={backend!r})"
        )

    def _repr_html_(self) -> str:
        rows = [("status", self.status), ("uptime", f"{self.uptime_seconds} s")]
        rows += [(f"database {key}", value) for key, value in self.database.items()]
        rows += [(f"pool {key}", value) for key, value in self.connection_pool.items()]
        body = "".join(
            f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>"
            for key, value in rows
        )
        return f"<table><caption>API health</caption><tbody>{body}</tbody></table>"


@dataclass
class Item(_Model):
    """One item: ``status`` is pending, processing, done or failed; a worker's result is in ``metadata``."""

    id: int
    user_id: int
    title: str
    description: str
    status: ItemStatus
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _datetime_fields: ClassVar[tuple[str, ...]] = ("created_at", "updated_at")

    def __repr__(self) -> str:
        created = self.created_at.isoformat(timespec="seconds") if self.created_at else None
        return (
            f"Item(id={self.id}, title={_short(self.title)!r}, status={self.status!r}, "
            f"created_at={created!r})"
        )

    @property
    def finished(self) -> bool:
        """True once a worker is done with it: ``status`` is ``done`` or ``failed``."""
        return self.status in FINISHED_STATUSES

    def _repr_html_(self) -> str:
        return _items_table([self])


@dataclass
class PaginatedResponse(_Model):
    """One page of items; iterate it, ``len()`` it, index it. ``next_cursor`` feeds ``after=``.

    ``total`` counts the matching items and ``pages`` is ``ceil(total / limit)``, both exact while
    ``total_is_estimate`` is False. The API stops counting 1,000 items past the page's offset (an
    exact count would read every match on every request): then ``total_is_estimate`` is True, and
    ``total`` and ``pages`` are lower bounds (there are at least that many; shown as ``1000+``).
    They grow as you page deeper and are exact on the last page. To read everything, use
    ``client.iter_items()``, which follows ``next_cursor`` and never relies on ``total``.
    """

    items: list[Item]
    total: int
    page: int
    limit: int
    pages: int
    next_cursor: int | None = None
    total_is_estimate: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaginatedResponse:
        page = super().from_dict(data)
        page.items = Item.from_dicts(data["items"])
        return page

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["items"] = [item.to_dict() for item in self.items]
        return out

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Item:
        return self.items[index]

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def to_dataframe(self) -> Any:
        """This page's items as a ``pandas.DataFrame`` (one row per item, one column per field).

        Needs pandas: ``pip install './python-sdk[pandas]'``; without it, an ImportError says so.
        """
        return items_dataframe(self.items)

    @property
    def _at_least(self) -> str:
        return "+" if self.total_is_estimate else ""

    def __repr__(self) -> str:
        more = self._at_least
        return (
            f"PaginatedResponse(page={self.page}/{self.pages}{more}, items={len(self.items)}, "
            f"total={self.total}{more}, limit={self.limit})"
        )

    def _repr_html_(self) -> str:
        more = self._at_least
        caption = f"page {self.page} of {self.pages}{more} · {len(self.items)} of {self.total}{more} items"
        return _items_table(self.items, caption=caption)


@dataclass
class ApiKey(_Model):
    """One of your API keys. ``key`` (the whole secret) is set only on the key ``create_api_key``
    returns: the API shows it once and stores only its hash; later lists show the ``prefix``."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    key: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _datetime_fields: ClassVar[tuple[str, ...]] = ("created_at", "last_used_at", "revoked_at")

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]]) -> list[ApiKey]:
        # Listed keys carry no "key" field: the same one-pass build as any model with all fields.
        return super().from_dicts([row if "key" in row else {**row, "key": None} for row in rows])

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass
class ApiKeyPage(_Model):
    """One page of your API keys, newest first, revoked ones included; ``next_cursor`` feeds
    ``after=``. ``total`` is exact. ``client.iter_api_keys()`` reads them all."""

    items: list[ApiKey]
    total: int
    page: int
    limit: int
    pages: int
    next_cursor: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiKeyPage:
        page = super().from_dict(data)
        page.items = ApiKey.from_dicts(data["items"])
        return page

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["items"] = [key.to_dict() for key in self.items]
        return out

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> ApiKey:
        return self.items[index]

    def __repr__(self) -> str:
        return f"ApiKeyPage(page={self.page}/{self.pages}, items={len(self.items)}, total={self.total})"


_COLUMNS = ("id", "title", "status", "attempts", "created_at")


def _items_table(items: list[Item], caption: str = "") -> str:
    head = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    rows = []
    for item in items:
        cells = (
            item.id,
            _short(item.title, 60),
            item.status,
            item.attempts,
            item.created_at.isoformat(timespec="seconds") if item.created_at else "",
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

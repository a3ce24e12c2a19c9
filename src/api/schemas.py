"""Request and response bodies: the public JSON shapes (see notes/api-contract.md).

Strings are checked to be storable on every backend (no NUL, valid Unicode), so bad input is a 422
and never a database error. Unknown fields are refused (``extra="forbid"``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from store.models import ApiKey, User

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_BATCH = 1_000  # items one POST /api/v1/items/batch may create

StatusName = Literal["pending", "processing", "done", "failed"]


def storable_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# The pattern documents "no NUL" in the schema (so generated clients and fuzzers know); the validator
# also refuses lone surrogates, which JSON Schema cannot express.
NO_NUL = r"^[^\x00]*$"
SafeStr = Annotated[str, StringConstraints(pattern=NO_NUL), AfterValidator(storable_text)]
# Length constraints sit before the validator, so an empty value reads "at least 1 character".
Email = Annotated[
    str, StringConstraints(min_length=1, max_length=320, pattern=NO_NUL), AfterValidator(storable_text)
]
Password = Annotated[
    str, StringConstraints(min_length=1, max_length=1024, pattern=NO_NUL), AfterValidator(storable_text)
]


@dataclass
class MetadataLimits:
    """How big and how deep an item's ``metadata`` may be (settings ``API_MAX_METADATA_*``).

    One per process, set by ``create_app`` from the settings before any request; the OpenAPI
    schema states the values in force.
    """

    max_bytes: int = 16 * 1024
    max_depth: int = 32


METADATA_LIMITS = MetadataLimits()


def configure_metadata_limits(*, max_bytes: int, max_depth: int) -> None:
    METADATA_LIMITS.max_bytes = max_bytes
    METADATA_LIMITS.max_depth = max_depth


def nesting_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` nests objects/arrays deeper than ``limit`` levels (the outer object is 1).

    Iterative, so no depth can exhaust the stack; it stops at the first too-deep container.
    """
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    limits = METADATA_LIMITS
    # Depth first: serializing (here, and in every later read) a deep value is what fails.
    if nesting_exceeds(value, limits.max_depth):
        raise ValueError(f"must nest at most {limits.max_depth} levels deep")
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
    except (ValueError, UnicodeEncodeError):
        raise ValueError("must be a JSON object of valid Unicode text and finite numbers") from None
    if len(encoded) > limits.max_bytes:
        raise ValueError(f"must be at most {limits.max_bytes} bytes of JSON")
    return value


def _metadata_schema(schema: dict[str, Any]) -> None:
    # Built when the OpenAPI document is (after create_app), so it states the limits in force.
    limits = METADATA_LIMITS
    schema["description"] = (
        f"any JSON object, at most {limits.max_bytes} bytes serialized and "
        f"{limits.max_depth} levels deep (the object itself is level 1)"
    )
    schema["x-max-bytes"] = limits.max_bytes
    schema["x-max-depth"] = limits.max_depth


# NUL is fine here: JSON escapes it (\u0000), so no raw NUL byte reaches the database.
Metadata = Annotated[
    dict[str, Any],
    AfterValidator(check_metadata),
    Field(json_schema_extra=_metadata_schema),
]


def _drop_defaults(schema: dict[str, Any]) -> None:
    # PATCH fields default to "not sent", which is not a value a client can send: hide it.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


Title = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TITLE, pattern=NO_NUL), AfterValidator(storable_text)
]
Description = Annotated[
    str, StringConstraints(max_length=MAX_DESCRIPTION, pattern=NO_NUL), AfterValidator(storable_text)
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(StrictModel):
    email: Email
    password: Password


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class UserOut(BaseModel):
    id: int
    email: str
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, email=user.email, is_admin=user.is_admin, created_at=user.created_at)


class ApiKeyIn(StrictModel):
    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$"),
        AfterValidator(storable_text),
    ]


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, api_key: ApiKey) -> ApiKeyOut:
        return cls(
            id=api_key.id,
            name=api_key.name,
            prefix=api_key.prefix,
            created_at=api_key.created_at,
            last_used_at=api_key.last_used_at,
            revoked_at=api_key.revoked_at,
        )


class ApiKeyPage(BaseModel):
    """One page of the caller's API keys, newest first (the shape of ItemPage; `total` is exact)."""

    items: list[ApiKeyOut]
    total: int
    page: int
    limit: int
    pages: int
    next_cursor: int | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the full key; shown only in this response")


class ItemIn(StrictModel):
    title: Title
    description: Description = ""
    metadata: Metadata = Field(default_factory=dict)


class ItemBatchIn(StrictModel):
    """Up to 1,000 items, each checked as a single create's body; one invalid item refuses them all."""

    items: Annotated[
        list[ItemIn],
        Field(
            min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} items, created in this order"
        ),
    ]


class ItemPatch(StrictModel):
    """Any subset of the fields; ``status`` may only be set back to "pending" (process again)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_defaults)

    title: Title = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]
    metadata: Metadata = None  # type: ignore[assignment]
    status: Literal["pending"] = None  # type: ignore[assignment]

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ItemOut(BaseModel):
    id: int
    user_id: int
    title: str
    description: str
    status: StatusName
    metadata: dict[str, Any]
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> ItemOut:
        """From a Core row of the public item columns, in field order (``api.routes.items.ITEM_COLUMNS``)."""
        return cls.model_validate(dict(zip(cls.model_fields, row, strict=True)))

    @classmethod
    def of_rows(cls, rows: Iterable[Sequence[Any]]) -> list[ItemOut]:
        """Many rows at once: one validation of the whole list, from plain dicts (a Row's
        ``_mapping`` costs more than the validation itself; a list page builds 50 items)."""
        fields = tuple(cls.model_fields)
        return _ITEM_LIST.validate_python([dict(zip(fields, row, strict=True)) for row in rows])


_ITEM_LIST = TypeAdapter(list[ItemOut])


class ItemBatchOut(BaseModel):
    items: list[ItemOut] = Field(description="the created items, in the order they were sent")


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    page: int
    limit: int
    pages: int
    next_cursor: int | None
    total_is_estimate: bool = Field(
        default=False,
        description="true when `total` is a lower bound: more than 1,000 items follow this page's offset",
    )

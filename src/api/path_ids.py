"""Ids in URL paths: plain decimal digits only, no leading zero; anything else is a missing id (404).

Python's and pydantic's int parsing accept ``1_0``, ``+10``, ``010`` and `` 10`` (what ``%2010``
decodes to) as 10: routes would answer the same resource at several addresses. An id that is not
the canonical form of a number from 1 to ``MAX_ID`` names nothing, so it is answered as an unknown
id would be: ``404 not_found``, "no item '1_0'" (Django's ``<int:pk>`` matches ``[0-9]+`` alone,
likewise). ``0`` and ids above ``MAX_ID`` are missing ids too.

    ItemId = Annotated[int, plain_digits("item"), id_path("item")]
    @router.get("/{item_id}")
    async def get_item(item_id: ItemId) -> ...
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Path
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.convertors import Convertor, register_url_convertor

from store.accounts import MAX_ID

NOT_FOUND_TYPE = "id_not_found"  # the validation error type api.errors answers with 404
_CANONICAL = re.compile(r"[1-9][0-9]{0,18}")


class IdSegment(Convertor[str]):
    """``{item_id:id}``: a path segment in an id's place, anything but a bare lowercase word.

    A word names a route beside the ids (``/items/batch``), so ``GET /items/batch`` answers 405
    with ``Allow: POST`` instead of "no item 'batch'"; every other segment reaches the route and
    :func:`plain_digits` decides (Starlette's ``:int`` would turn ``010`` into 10 first).
    """

    regex = r"(?![a-z]+(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("id", IdSegment())


def plain_digits(noun: str) -> Any:
    """The validator: the canonical decimal form of 1 to MAX_ID, else a 404 "no <noun> <value>"."""

    def check(value: object) -> int:
        text = str(value)
        if _CANONICAL.fullmatch(text) and int(text) <= MAX_ID:
            return int(text)
        shown = text if text.isdigit() else repr(text)
        raise PydanticCustomError(NOT_FOUND_TYPE, "no {noun} {value}", {"noun": noun, "value": shown})

    return BeforeValidator(check)


def id_path(noun: str) -> Any:
    """The path parameter, documented as 1 to MAX_ID."""
    return Path(ge=1, le=MAX_ID, description=f"{noun} id (decimal digits, no leading zero)")

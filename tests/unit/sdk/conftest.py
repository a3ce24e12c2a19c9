"""Fault tests of the SDK through httpx.MockTransport: a scripted API that records every request."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.unit.sdk.both_clients import KINDS, make_client

BASE_URL = "http://api.test"
API_KEY = "sk_ab12cd34_" + "s" * 43

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def item_json(item_id: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "user_id": 7,
        "title": f"item {item_id}",
        "description": "",
        "status": "pending",
        "metadata": {},
        "attempts": 0,
        "error": None,
        "created_at": "2026-11-29T02:00:00+00:00",
        "updated_at": "2026-11-29T02:00:00+00:00",
        **fields,
    }


class ScriptedAPI:
    """Answers requests from a script (one reply per request, the last one repeating) and records them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[Reply] = []
        self.route: Callable[[httpx.Request], httpx.Response | None] | None = None

    def reply(self, *replies: Reply) -> ScriptedAPI:
        self.script.extend(replies)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.route is not None:
            routed = self.route(request)
            if routed is not None:
                return routed
        reply = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(reply, Exception):
            if isinstance(reply, httpx.RequestError):
                reply.request = request
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def json_of(self, index: int) -> Any:
        return json.loads(self.requests[index].content)

    @property
    def count(self) -> int:
        return len(self.requests)


@pytest.fixture
def api() -> ScriptedAPI:
    return ScriptedAPI()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(kind: str, api: ScriptedAPI, sleeps: list[float]) -> Iterator[Callable[..., Any]]:
    """``connect(**options)``: a client of ``kind`` talking to the scripted API, sleeping into ``sleeps``."""
    made: list[Any] = []
    transports: list[httpx.Client | httpx.AsyncClient] = []

    def factory(**options: Any) -> Any:
        transport = httpx.MockTransport(api.handle)
        http = httpx.Client(transport=transport) if kind == "sync" else httpx.AsyncClient(transport=transport)
        transports.append(http)
        options.setdefault("base_url", BASE_URL)
        options.setdefault("api_key", API_KEY)
        client = make_client(kind, sleep=sleeps.append, http_client=http, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
    for http in transports:
        if isinstance(http, httpx.Client):
            http.close()

"""Bad input gets a 4xx in the error shape, never a 500, and changes nothing in the database."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from store.models import ApiKey, IdempotencyRecord, Item, User
from tests.integration.api.conftest import Caller, LiveApi


def snapshot(live_api: LiveApi) -> list[tuple]:
    with live_api.database.session() as session:
        return [
            tuple(row)
            for model in (User, ApiKey, Item, IdempotencyRecord)
            for row in session.execute(select(model.__table__)).all()
        ]


@pytest.fixture(scope="module")
def item(http: httpx.Client, owner: Caller) -> dict:
    return http.post("/api/v1/items", json={"title": "target"}, headers=owner.headers).json()


def assert_error(response: httpx.Response, status: int | tuple[int, ...], code: str | None = None) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["message"] and isinstance(body["error"]["details"], list)
    if code:
        assert body["error"]["code"] == code
    assert response.headers.get("X-Request-ID") == body["error"]["request_id"]


JSON = {"Content-Type": "application/json"}
BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("malformed JSON", b'{"title": ', 400, "bad_request"),
    ("not JSON at all", b"title=x", 400, "bad_request"),
    ("JSON array", b'["title"]', 422, "validation_error"),
    ("title wrong type", b'{"title": 42}', 422, "validation_error"),
    ("title missing", b'{"description": "x"}', 422, "validation_error"),
    ("title empty", b'{"title": ""}', 422, "validation_error"),
    ("title too long", b'{"title": "' + b"x" * 201 + b'"}', 422, "validation_error"),
    (
        "description too long",
        b'{"title": "t", "description": "' + b"d" * 10_001 + b'"}',
        422,
        "validation_error",
    ),
    ("metadata not an object", b'{"title": "t", "metadata": [1]}', 422, "validation_error"),
    (
        "metadata too big",
        b'{"title": "t", "metadata": {"k": "' + b"m" * 17_000 + b'"}}',
        422,
        "validation_error",
    ),
    ("unknown field", b'{"title": "t", "owner": 1}', 422, "validation_error"),
    ("NUL in title", b'{"title": "a\\u0000b"}', 422, "validation_error"),
    ("lone surrogate", b'{"title": "\\ud800"}', 422, "validation_error"),
    ("invalid UTF-8", b'{"title": "\xff\xfe"}', 400, "bad_request"),
    ("NaN", b'{"title": "t", "metadata": {"x": NaN}}', 422, "validation_error"),
    ("empty body", b"", 422, "validation_error"),
]


@pytest.mark.parametrize("label, body, status, code", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_create_bodies(
    label: str,
    body: bytes,
    status: int,
    code: str,
    live_api: LiveApi,
    http: httpx.Client,
    owner: Caller,
    item: dict,
) -> None:
    before = snapshot(live_api)
    assert_error(http.post("/api/v1/items", content=body, headers={**owner.headers, **JSON}), status, code)
    if label != "title missing":  # a valid PATCH
        assert_error(
            http.patch(
                f"/api/v1/items/{item['id']}",
                content=body.replace(b'"title": "t", ', b""),
                headers={**owner.headers, **JSON},
            ),
            (400, 422),
        )
    assert snapshot(live_api) == before


def test_patch_refuses_null_and_worker_statuses(
    live_api: LiveApi, http: httpx.Client, owner: Caller, item: dict
) -> None:
    before = snapshot(live_api)
    for body in (
        {"title": None},
        {"metadata": None},
        {"status": "done"},
        {"status": "processing"},
        {"attempts": 0},
        {"user_id": 99},
        {"id": 5},
    ):
        assert_error(
            http.patch(f"/api/v1/items/{item['id']}", json=body, headers=owner.headers),
            422,
            "validation_error",
        )
    assert snapshot(live_api) == before


def test_huge_body_is_413(live_api: LiveApi, http: httpx.Client, owner: Caller) -> None:
    before = snapshot(live_api)
    huge = b'{"title": "t", "description": "' + b"x" * 2_000_000 + b'"}'
    assert_error(
        http.post("/api/v1/items", content=huge, headers={**owner.headers, **JSON}), 413, "payload_too_large"
    )

    def chunks():  # no Content-Length: the size is counted while streaming
        yield b'{"title": "t", "description": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    assert_error(
        http.post("/api/v1/items", content=chunks(), headers={**owner.headers, **JSON}),
        413,
        "payload_too_large",
    )
    assert snapshot(live_api) == before


def test_wrong_content_type_is_415(live_api: LiveApi, http: httpx.Client, owner: Caller) -> None:
    before = snapshot(live_api)
    response = http.post(
        "/api/v1/items",
        content=b"title=x",
        headers={**owner.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "unsupported_media_type")
    assert snapshot(live_api) == before


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"page": 10**12},
        {"page": "two"},
        {"limit": 0},
        {"limit": 101},
        {"limit": -5},
        {"after": 0},
        {"after": 2**63},
        {"after": "x"},
        {"status": "deleted"},
        {"q": "a\x00b"},
        {"q": "x" * 201},
    ],
)
def test_bad_list_parameters_are_422(params: dict, http: httpx.Client, owner: Caller) -> None:
    assert_error(http.get("/api/v1/items", params=params, headers=owner.headers), 422, "validation_error")


@pytest.mark.parametrize("item_id", ["0", "-1", "abc", str(2**63), "1.5", "%FF"])
def test_bad_item_ids_are_404(item_id: str, http: httpx.Client, owner: Caller) -> None:
    # Not the canonical digits of an id from 1 to 2**63 - 1: no item has it (api.path_ids).
    for method in ("GET", "DELETE"):
        assert_error(
            http.request(method, f"/api/v1/items/{item_id}", headers=owner.headers), 404, "not_found"
        )


# JSON escapes NUL, so unlike titles, metadata may hold it.
METADATA = {"<b>": "' OR 1=1 --", "nul\x00key": "a\x00b", "deep": [{"x": None}]}


def test_sql_and_html_are_stored_verbatim(http: httpx.Client, owner: Caller) -> None:
    title = "Robert'); DROP TABLE items;-- <script>alert(1)</script>"
    description = "<img src=x onerror=alert(1)> \" ' ; -- /* */ %s {{7*7}}"
    created = http.post(
        "/api/v1/items",
        json={"title": title, "description": description, "metadata": METADATA},
        headers=owner.headers,
    )
    assert created.status_code == 201
    fetched = http.get(f"/api/v1/items/{created.json()['id']}", headers=owner.headers).json()
    assert (fetched["title"], fetched["description"], fetched["metadata"]) == (
        title,
        description,
        METADATA,
    )
    found = http.get("/api/v1/items", params={"q": "'); DROP"}, headers=owner.headers).json()
    assert [i["id"] for i in found["items"]] == [created.json()["id"]]


def test_bad_login_bodies(http: httpx.Client) -> None:
    for body in (
        b"{",
        b'{"email": "a@b.c"}',
        b'{"email": 1, "password": 2}',
        b'{"email": "a\\u0000", "password": "x"}',
        b'{"email": "a@b.c", "password": "' + b"p" * 2000 + b'"}',
    ):
        assert_error(http.post("/api/v1/auth/login", content=body, headers=JSON), (400, 422))


def test_bad_idempotency_keys_are_422(live_api: LiveApi, http: httpx.Client, owner: Caller) -> None:
    before = snapshot(live_api)
    for key in ("x" * 256, "has space", "tab\there"):
        assert_error(
            http.post(
                "/api/v1/items", json={"title": "t"}, headers={**owner.headers, "Idempotency-Key": key}
            ),
            422,
            "validation_error",
        )
    assert snapshot(live_api) == before


def test_unknown_route_and_wrong_method(http: httpx.Client, owner: Caller) -> None:
    assert_error(http.get("/api/v1/nothing-here", headers=owner.headers), 404, "not_found")
    assert_error(http.put("/api/v1/items", json={}, headers=owner.headers), 405, "method_not_allowed")


def test_non_utf8_header_bytes_are_refused_not_crashing(live_api: LiveApi) -> None:
    # httpx refuses to send such headers, so speak raw HTTP/1.1.
    parts = urlsplit(live_api.url)
    request = (
        b"GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nX-API-Key: sk_\xff\xfe_\xc3\x28\r\n"
        b"Authorization: Bearer \xff\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
    assert b'"code":"unauthorized"' in reply

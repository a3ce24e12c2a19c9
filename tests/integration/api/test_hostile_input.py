"""Hostile input against the real server (gunicorn + the bounded uvicorn worker, both backends).

Every request is bounded before anything is written: metadata depth and size (422), the request
line (414), each header and all headers (431), the body (413), the time to send the headers (408).
Ids are plain digits: any other form of an id (``1_0``, ``+10``, ``010``, ``%2010``) is a 404.
Every answer is a 4xx in the one error shape, nothing is stored, no row the API accepted can break
a read, and the stack stays healthy.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import insert

from store.models import Item, ItemStatus, utcnow
from tests.integration.api.conftest import Caller, LiveApi, boot_api
from tests.integration.api.test_bad_input import JSON, assert_error, snapshot
from tests.support import plain_http

MAX_DEPTH = 32  # API_MAX_METADATA_DEPTH's default
MAX_METADATA_BYTES = 16_384  # API_MAX_METADATA_BYTES's default


def nested(depth: int) -> dict[str, Any]:
    """A metadata object ``depth`` levels deep (the object itself is level 1)."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def nested_body(depth: int, *, title: bool = True) -> bytes:
    # Built as text: json.dumps itself cannot serialize ~1,000 levels.
    inner = b'{"a":' * depth + b"1" + b"}" * depth
    return (b'{"title":"deep","metadata":' if title else b'{"metadata":') + inner + b"}"


def raw_exchange(live_api: LiveApi, request: bytes) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    parts = urlsplit(live_api.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def parse_reply(reply: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The first response in ``reply``: status, headers and its JSON body (by Content-Length)."""
    head, _, rest = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(rest[: int(headers["content-length"])])


def assert_raw_error(reply: bytes, status: int, code: str) -> dict[str, str]:
    got, headers, body = parse_reply(reply)
    assert got == status, reply[:300]
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    assert headers["connection"] == "close" and headers.get("x-request-id")
    return headers


# --- metadata depth and size --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 16, MAX_DEPTH])
def test_metadata_up_to_the_depth_bound_is_stored_and_read_back(
    depth: int, http: httpx.Client, owner: Caller
) -> None:
    created = http.post("/api/v1/items", content=nested_body(depth), headers={**owner.headers, **JSON})
    assert created.status_code == 201, created.text
    fetched = http.get(f"/api/v1/items/{created.json()['id']}", headers=owner.headers)
    assert fetched.status_code == 200 and fetched.json()["metadata"] == nested(depth)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 64, 255, 256, 257, 500, 900, 990, 1000])
def test_metadata_deeper_than_the_bound_is_refused_and_not_stored(
    depth: int, live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    item = http.post("/api/v1/items", json={"title": "target"}, headers=owner.headers).json()
    before = snapshot(live_api)
    created = http.post("/api/v1/items", content=nested_body(depth), headers={**owner.headers, **JSON})
    patched = http.patch(
        f"/api/v1/items/{item['id']}",
        content=nested_body(depth, title=False),
        headers={**owner.headers, **JSON},
    )
    for response in (created, patched):
        if depth < 500:
            assert_error(response, 422, "validation_error")
            assert response.json()["error"]["details"][0]["loc"] == ["body", "metadata"]
            assert f"at most {MAX_DEPTH} levels deep" in response.json()["error"]["details"][0]["msg"]
        else:  # past the JSON parser's own depth, the body cannot even be read: still a clear 4xx
            assert_error(response, (400, 422))
            assert "deep" in response.text and "UTF-8" not in response.text
    assert snapshot(live_api) == before


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 255, 500, 1000])
def test_a_batch_with_one_too_deep_item_is_refused_whole(
    depth: int, live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    fine = b'{"title":"fine"}'
    body = b'{"items":[' + fine + b"," + fine + b"," + nested_body(depth) + b"," + fine + b"]}"
    before = snapshot(live_api)
    response = http.post("/api/v1/items/batch", content=body, headers={**owner.headers, **JSON})
    if depth < 500:
        assert_error(response, 422, "validation_error")
        assert response.json()["error"]["details"][0]["loc"] == ["body", "items", 2, "metadata"]
        assert "items[2].metadata" in response.json()["error"]["message"]
    else:  # past the JSON parser's own depth: still a clear 4xx
        assert_error(response, (400, 422))
        assert "deep" in response.text
    assert snapshot(live_api) == before


def test_metadata_over_the_size_bound_names_the_limit(
    live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    before = snapshot(live_api)
    response = http.post(
        "/api/v1/items",
        json={"title": "t", "metadata": {"k": "m" * MAX_METADATA_BYTES}},
        headers=owner.headers,
    )
    assert_error(response, 422, "validation_error")
    assert response.json()["error"]["details"][0]["loc"] == ["body", "metadata"]
    assert f"at most {MAX_METADATA_BYTES} bytes" in response.json()["error"]["details"][0]["msg"]
    assert snapshot(live_api) == before


def test_openapi_states_the_metadata_bounds(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    for model in ("ItemIn", "ItemPatch"):
        metadata = schemas[model]["properties"]["metadata"]
        assert metadata["x-max-depth"] == MAX_DEPTH and metadata["x-max-bytes"] == MAX_METADATA_BYTES
        assert f"{MAX_DEPTH} levels deep" in metadata["description"]


def test_reads_survive_the_largest_and_deepest_rows_the_api_accepts(
    live_api: LiveApi, http: httpx.Client
) -> None:
    owner, admin = live_api.new_user(), live_api.new_user(is_admin=True)
    deepest = nested(MAX_DEPTH)
    filler = MAX_METADATA_BYTES - len('{"k":""}')
    largest = {"k": "m" * filler}
    widest = {"k": [nested(MAX_DEPTH - 2)] * 40}
    ids = []
    for metadata in (deepest, largest, widest):
        created = http.post(
            "/api/v1/items", json={"title": "edge", "metadata": metadata}, headers=owner.headers
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    for caller in (owner, admin):
        listing = http.get("/api/v1/items", params={"limit": 100}, headers=caller.headers)
        assert listing.status_code == 200
        assert {i["id"] for i in listing.json()["items"]} >= set(ids)
        for item_id in ids:
            assert http.get(f"/api/v1/items/{item_id}", headers=caller.headers).status_code == 200
            patched = http.patch(f"/api/v1/items/{item_id}", json={"title": "edge 2"}, headers=caller.headers)
            assert patched.status_code == 200


# --- the request line and headers ---------------------------------------------------------------------


def test_long_request_line_is_414(live_api: LiveApi) -> None:
    reply = raw_exchange(live_api, b"GET /api/v1/items?q=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_raw_error(reply, 414, "uri_too_long")


def test_one_large_header_is_431(live_api: LiveApi, owner: Caller) -> None:
    request = (
        b"GET /api/v1/items HTTP/1.1\r\nHost: x\r\nX-API-Key: " + owner.api_key.encode() + b"\r\n"
        b"X-Padding: " + b"p" * 9000 + b"\r\n\r\n"
    )
    assert_raw_error(raw_exchange(live_api, request), 431, "headers_too_large")


def test_many_headers_over_the_total_are_431(live_api: LiveApi) -> None:
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"p" * 4000) for n in range(10))
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n" + padding + b"\r\n"
    assert_raw_error(raw_exchange(live_api, request), 431, "headers_too_large")


def test_headers_within_the_bounds_are_served(live_api: LiveApi, owner: Caller) -> None:
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"p" * 3000) for n in range(8))
    request = (
        b"GET /api/v1/items?q=" + b"x" * 150 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-API-Key: " + owner.api_key.encode() + b"\r\n" + padding + b"\r\n"
    )
    assert raw_exchange(live_api, request).startswith(b"HTTP/1.1 200 ")


def test_a_huge_header_is_answered_at_once_without_reading_the_rest(live_api: LiveApi) -> None:
    # The server answers 431 and closes as soon as the bound is crossed: the client cannot get
    # anywhere near 50 MB into the connection (it sees its writes refused), and the API stays up.
    parts = urlsplit(live_api.url)
    sent = 0
    reply = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        chunk = b"h" * 65536
        try:
            while sent < 50_000_000:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        try:
            while data := sock.recv(65536):
                reply += data
        except OSError:
            pass  # the 431 may be lost to the reset of a connection closed with unread data
    assert sent < 20_000_000, f"the server read {sent} bytes of one header"
    if reply:
        assert_raw_error(reply, 431, "headers_too_large")
    assert plain_http.get(f"{live_api.url}/health", timeout=10).status_code == 200


def test_malformed_http_is_400_in_the_error_shape(live_api: LiveApi) -> None:
    assert_raw_error(raw_exchange(live_api, b"NOT HTTP AT ALL\r\n\r\n"), 400, "bad_request")


# --- bodies -------------------------------------------------------------------------------------------


def test_lying_content_length_is_a_4xx_and_closes(live_api: LiveApi, owner: Caller) -> None:
    before = snapshot(live_api)
    # Small enough to arrive in one read: a connection closed with unread bytes is reset, and the
    # reset may overtake the answer.
    body = b'{"title": "t", "description": "' + b"x" * 2_000 + b'"}'
    request = (
        b"POST /api/v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + owner.api_key.encode() + b"\r\nContent-Length: 20\r\n\r\n" + body
    )
    reply = raw_exchange(live_api, request)
    status, _, payload = parse_reply(reply)
    assert status == 400 and payload["error"]["code"] == "bad_request"  # the first 20 bytes: bad JSON
    # Declaring more than the limit is refused before the body is read, whatever follows.
    request = (
        b"POST /api/v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + owner.api_key.encode() + b"\r\nContent-Length: 50000000\r\n\r\n" + body[:100]
    )
    status, headers, payload = parse_reply(raw_exchange(live_api, request))
    assert status == 413 and payload["error"]["code"] == "payload_too_large"
    assert headers["connection"] == "close"
    assert snapshot(live_api) == before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "multipart/form-data; boundary=x", "application/xml", "application/jsonx", "json"],
)
def test_wrong_content_types_are_415(
    content_type: str, live_api: LiveApi, http: httpx.Client, owner: Caller
) -> None:
    before = snapshot(live_api)
    response = http.post(
        "/api/v1/items", content=b'{"title": "t"}', headers={**owner.headers, "Content-Type": content_type}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert snapshot(live_api) == before


@pytest.mark.parametrize("field", ["title", "description"])
def test_100_kb_strings_are_422(field: str, live_api: LiveApi, http: httpx.Client, owner: Caller) -> None:
    before = snapshot(live_api)
    body = {"title": "t", field: "s" * 100_000}
    assert_error(http.post("/api/v1/items", json=body, headers=owner.headers), 422, "validation_error")
    assert snapshot(live_api) == before


@pytest.mark.parametrize("status", ["'; DROP TABLE items;--", "done' OR '1'='1", "pending\x00"])
def test_sql_in_status_is_422(status: str, http: httpx.Client, owner: Caller) -> None:
    response = http.get("/api/v1/items", params={"status": status}, headers=owner.headers)
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("item_id", ["1e3", "0x10", "1 2", "1;DROP", "..", "9" * 400, "%00"])
def test_odd_ids_are_404(item_id: str, http: httpx.Client, owner: Caller) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"title": "x"}} if method == "PATCH" else {}
        response = http.request(method, f"/api/v1/items/{item_id}", headers=owner.headers, **kwargs)
        assert_error(response, 404, "not_found")


# Each names a real id in a form Python's int() (and pydantic's) would take: none may reach it.
ODD_FORMS = ["{id}_0", "+{id}", "0{id}", "%20{id}", "{id}%20", "%2B{id}", "00{id}", "{id}.0", "%EF%BC%91"]


def odd_forms(real_id: int) -> list[str]:
    # 1_0 for 10: the underscore inside the number, as the example.
    text = str(real_id)
    inside = f"{text[:-1]}_{text[-1]}" if len(text) > 1 else f"{text}_"
    return [form.format(id=real_id) for form in ODD_FORMS] + [inside]


def test_an_item_id_in_an_odd_form_is_a_404_and_touches_nothing(http: httpx.Client, owner: Caller) -> None:
    item = http.post("/api/v1/items", json={"title": "only at its own address"}, headers=owner.headers).json()
    for form in odd_forms(item["id"]):
        for method in ("GET", "PATCH", "DELETE"):
            kwargs: dict[str, Any] = {"json": {"title": "changed"}} if method == "PATCH" else {}
            response = http.request(method, f"/api/v1/items/{form}", headers=owner.headers, **kwargs)
            assert_error(response, 404, "not_found")
            assert response.json()["error"]["message"].startswith("no item "), (form, response.text)
    fetched = http.get(f"/api/v1/items/{item['id']}", headers=owner.headers)
    assert fetched.status_code == 200 and fetched.json()["title"] == "only at its own address"
    # 0 and ids past the largest possible are missing ids too, not validation errors.
    for missing in ("0", "9223372036854775808", "9" * 400):
        assert_error(http.get(f"/api/v1/items/{missing}", headers=owner.headers), 404, "not_found")


def test_an_api_key_id_in_an_odd_form_revokes_nothing(live_api: LiveApi, http: httpx.Client) -> None:
    caller = live_api.new_user()
    forms = [
        *odd_forms(caller.api_key_id),
        f"%20%{ord(str(caller.api_key_id)[0]):X}{str(caller.api_key_id)[1:]}",
    ]
    for form in forms:
        response = http.delete(f"/api/v1/api-keys/{form}", headers=caller.headers)
        assert_error(response, 404, "not_found")
    assert http.get("/api/v1/auth/me", headers=caller.headers).status_code == 200  # the key still works


def test_a_user_id_in_an_odd_form_deactivates_nobody(
    live_api: LiveApi, http: httpx.Client, admin: Caller
) -> None:
    user = live_api.new_user()
    for form in odd_forms(user.id):
        for method, path in (("POST", f"{form}/deactivate"), ("DELETE", form)):
            response = http.request(method, f"/api/v1/admin/users/{path}", headers=admin.headers)
            assert_error(response, 404, "not_found")
    assert http.get("/api/v1/auth/me", headers=user.headers).status_code == 200


# --- answers to broken requests -----------------------------------------------------------------------


def test_a_500_says_connection_close_and_the_next_request_works(live_api: LiveApi, owner: Caller) -> None:
    # A row the API would refuse, written behind its back (as a buggy worker could): serializing
    # it fails. The answer must tell the client the connection ends, so its next request is safe.
    now = utcnow()
    with live_api.database.session() as session:
        item_id = session.execute(
            insert(Item)
            .values(
                user_id=owner.id,
                title="written around the API",
                description="",
                metadata=nested(400),
                status=ItemStatus.DONE,
                attempts=1,
                available_at=now,
                created_at=now,
                updated_at=now,
            )
            .returning(Item.id)
        ).scalar_one()
        session.commit()
    try:
        with live_api.client() as http:
            response = http.get(f"/api/v1/items/{item_id}", headers=owner.headers)
            assert_error(response, 500, "internal_error")
            assert response.headers["connection"] == "close"
            assert http.get("/health").status_code == 200
    finally:
        with live_api.database.session() as session:
            session.query(Item).filter(Item.id == item_id).delete()
            session.commit()


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("OPTIONS", "/api/v1/items/1", {"GET", "PATCH", "DELETE"}),
        ("PUT", "/api/v1/items/1", {"GET", "PATCH", "DELETE"}),
        ("PUT", "/api/v1/items", {"GET", "POST"}),
        ("PUT", "/api/v1/api-keys", {"GET", "POST"}),
        ("GET", "/api/v1/admin/services/api/restart", {"POST"}),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    method: str, path: str, allowed: set[str], http: httpx.Client, owner: Caller
) -> None:
    response = http.request(method, path, headers=owner.headers)
    assert_error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_admin_restart_does_not_echo_a_long_name(http: httpx.Client, admin: Caller) -> None:
    name = "n" * 2000
    response = http.post(f"/api/v1/admin/services/{name}/restart", headers=admin.headers)
    assert_error(response, 422, "validation_error")
    assert "n" * 200 not in response.text


def test_the_stack_is_healthy_afterwards(live_api: LiveApi) -> None:
    assert plain_http.get(f"{live_api.url}/health", timeout=10).status_code == 200
    assert live_api.server.process is not None and live_api.server.process.poll() is None


# --- slow headers ---------------------------------------------------------------------------------------

HEADER_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def slow_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """Its own server, with a short API_HEADER_TIMEOUT (the default is 30 s)."""
    yield from boot_api(
        tmp_path_factory, "sqlite", workers=2, env={"API_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}
    )


def read_to_close(sock: socket.socket) -> bytes:
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    return reply


def test_headers_trickled_a_byte_at_a_time_are_cut_with_a_408(slow_api: LiveApi) -> None:
    with socket.create_connection(("127.0.0.1", slow_api.server.port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        deadline = time.monotonic() + 30
        # A byte every half second, for ever: the server must end it (well before our deadline).
        while not select.select([sock], [], [], 0.5)[0]:
            assert time.monotonic() < deadline, "the trickling connection was never cut"
            sock.sendall(b"a")
        reply = read_to_close(sock)
    assert_raw_error(reply, 408, "request_timeout")


def test_a_silent_connection_is_closed_without_an_answer(slow_api: LiveApi) -> None:
    with socket.create_connection(("127.0.0.1", slow_api.server.port), timeout=30) as sock:
        assert read_to_close(sock) == b""  # closed by the server (a hung one would time out here)


def test_500_slow_connections_at_once_leave_health_answered_and_are_all_cut(slow_api: LiveApi) -> None:
    socks = []
    try:
        for n in range(500):
            sock = socket.create_connection(("127.0.0.1", slow_api.server.port), timeout=30)
            socks.append(sock)
            sock.sendall(f"GET /api/v1/items/{n} HTTP/1.1\r\nHost: test\r\nX-Slow: ".encode())
        # Every one of them is held open right now, and the API still answers others.
        with slow_api.client() as http:
            health = http.get("/health")
        assert health.status_code == 200, health.text
        replies = [read_to_close(sock) for sock in socks]  # each returns once the server closed it
    finally:
        for sock in socks:
            sock.close()
    statuses = {parse_reply(reply)[0] for reply in replies if reply}
    assert statuses <= {408}, statuses
    assert len([r for r in replies if r]) == 500  # each had sent bytes: each was told why
    with slow_api.client() as http:
        assert http.get("/health").status_code == 200


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_a_keep_alive_connection_gets_a_new_header_deadline_per_request(slow_api: LiveApi) -> None:
    with socket.create_connection(("127.0.0.1", slow_api.server.port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        # Idle between requests longer than the header timeout (but within gunicorn's keepalive, 5 s):
        # the scenario itself, not a synchronisation. The deadline starts with the next request's first byte.
        time.sleep(HEADER_TIMEOUT + 1)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")

"""API keys against the real server: at most API_KEYS_MAX_ACTIVE active keys per user (409 past it,
revoking one frees a slot, creates at once never pass the cap), and the list by pages or cursor."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.api.conftest import BACKENDS, LiveApi, boot_api
from tests.integration.api.test_bad_input import assert_error
from tests.support import plain_http

CAP = 4


@pytest.fixture(scope="module", params=BACKENDS)
def capped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    yield from boot_api(tmp_path_factory, request.param, env={"API_KEYS_MAX_ACTIVE": str(CAP)})


def active(http: httpx.Client, headers: dict[str, str]) -> list[dict[str, object]]:
    listed = http.get("/api/v1/api-keys", params={"limit": 100}, headers=headers).json()["items"]
    return [k for k in listed if k["revoked_at"] is None]


def test_a_user_at_the_cap_gets_a_409_until_revoking_one(capped: LiveApi) -> None:
    caller = capped.new_user()  # holds one key already
    with capped.client() as http:
        made = [
            http.post("/api/v1/api-keys", json={"name": f"k{n}"}, headers=caller.headers) for n in range(CAP)
        ]
        assert [r.status_code for r in made] == [201] * (CAP - 1) + [409]
        assert_error(made[-1], 409, "conflict")
        assert "revoke one" in made[-1].json()["error"]["message"]
        assert len(active(http, caller.headers)) == CAP
        # Revoking one frees its slot: exactly one more can be made.
        revoked = made[0].json()
        assert http.delete(f"/api/v1/api-keys/{revoked['id']}", headers=caller.headers).status_code == 204
        again = http.post("/api/v1/api-keys", json={"name": "after revoking"}, headers=caller.headers)
        assert again.status_code == 201, again.text
        assert http.get("/api/v1/auth/me", headers={"X-API-Key": again.json()["key"]}).status_code == 200
        assert (
            http.post("/api/v1/api-keys", json={"name": "one too many"}, headers=caller.headers).status_code
            == 409
        )
        # Another user's cap is their own.
        assert (
            http.post("/api/v1/api-keys", json={"name": "x"}, headers=capped.new_user().headers).status_code
            == 201
        )


def test_creates_at_once_never_pass_the_cap(capped: LiveApi) -> None:
    caller = capped.new_user()

    def create(n: int) -> int:
        # Fresh connections: both workers create at the same time.
        return plain_http.post(
            f"{capped.url}/api/v1/api-keys", json={"name": f"race {n}"}, headers=caller.headers, timeout=60
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(12)))
    assert statuses.count(201) == CAP - 1 and statuses.count(409) == 12 - (CAP - 1), statuses
    with capped.client() as http:
        assert len(active(http, caller.headers)) == CAP


def test_the_key_list_comes_by_pages_and_by_cursor(capped: LiveApi) -> None:
    caller = capped.new_user()
    with capped.client() as http:
        ids = [caller.api_key_id]
        for n in range(CAP * 2):  # revoked keys stay listed: make more than the cap, revoking as we go
            key = http.post("/api/v1/api-keys", json={"name": f"p{n}"}, headers=caller.headers).json()
            ids.append(key["id"])
            assert http.delete(f"/api/v1/api-keys/{key['id']}", headers=caller.headers).status_code == 204
        newest_first = sorted(ids, reverse=True)
        pages = [
            http.get("/api/v1/api-keys", params={"page": p, "limit": 4}, headers=caller.headers).json()
            for p in (1, 2, 3)
        ]
        assert [k["id"] for page in pages for k in page["items"]] == newest_first
        assert {(p["total"], p["pages"], p["limit"]) for p in pages} == {(len(ids), 3, 4)}
        seen, cursor = [], None
        while True:
            params = {"limit": 4} if cursor is None else {"limit": 4, "after": cursor}
            page = http.get("/api/v1/api-keys", params=params, headers=caller.headers).json()
            seen += [k["id"] for k in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == newest_first
        for bad in ({"limit": 0}, {"limit": 101}, {"page": 0}, {"after": "x"}):
            assert_error(
                http.get("/api/v1/api-keys", params=bad, headers=caller.headers), 422, "validation_error"
            )

"""The audit log through the API (both backends): user deactivate/activate/delete and a key revoked by
an admin are recorded with who, what, when and the outcome, refused ones as failed with the reason;
a user revoking their own key is not an admin action; the list is newest first, by cursor, bounded,
filtered, admins only. (Start/stop/restart: tests/e2e/test_admin_services.py, against a real
supervisord; requeue: test_failed_items.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.api.conftest import Caller, LiveApi

AUDIT = "/api/v1/admin/audit"


def newest(http: httpx.Client, admin: Caller, count: int, **query: Any) -> list[dict[str, Any]]:
    response = http.get(AUDIT, params={"limit": count, **query}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_user_and_key_actions_are_recorded_with_their_outcome(
    live_api: LiveApi, http: httpx.Client, admin: Caller
) -> None:
    user = live_api.new_user()
    started = datetime.now(UTC) - timedelta(seconds=1)
    calls = [
        ("POST", f"/api/v1/admin/users/{user.id}/deactivate", 200),
        ("POST", f"/api/v1/admin/users/{user.id}/activate", 200),
        ("DELETE", f"/api/v1/api-keys/{user.api_key_id}", 204),  # an admin revokes someone's key
        ("POST", f"/api/v1/admin/users/{admin.id}/deactivate", 409),  # not their own account
        ("DELETE", f"/api/v1/admin/users/{user.id}", 204),
        ("DELETE", f"/api/v1/admin/users/{user.id}", 404),  # gone already
    ]
    for method, path, status in calls:
        assert http.request(method, path, headers=admin.headers).status_code == status, path

    entries = newest(http, admin, len(calls))[::-1]  # oldest first, as they were made
    assert [(e["action"], e["target"], e["outcome"], e["detail"]) for e in entries] == [
        ("user.deactivate", f"user {user.id}", "ok", user.email),
        ("user.activate", f"user {user.id}", "ok", user.email),
        ("api_key.revoke", f"API key {user.api_key_id}", "ok", f"of {user.email}"),
        ("user.deactivate", f"user {admin.id}", "failed", None),
        ("user.delete", f"user {user.id}", "ok", user.email),
        ("user.delete", f"user {user.id}", "failed", None),
    ]
    assert {(e["actor"], e["user_id"], e["via"], e["host"]) for e in entries} == {
        (admin.email, admin.id, "api", None)
    }
    assert entries[3]["error"].startswith("you cannot deactivate your own account")
    assert entries[5]["error"] == f"no user {user.id}"
    assert all(e["error"] is None for e in entries if e["outcome"] == "ok")
    assert all(started <= datetime.fromisoformat(e["at"]) <= datetime.now(UTC) for e in entries)
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)


def test_revoking_ones_own_key_is_not_an_admin_action(
    live_api: LiveApi, http: httpx.Client, admin: Caller
) -> None:
    user = live_api.new_user()
    before = newest(http, admin, 1)
    assert http.delete(f"/api/v1/api-keys/{user.api_key_id}", headers=user.headers).status_code == 204
    assert newest(http, admin, 1) == before


def test_the_list_pages_by_cursor_filters_and_is_bounded(
    live_api: LiveApi, http: httpx.Client, admin: Caller
) -> None:
    user = live_api.new_user()
    for _ in range(3):
        for action in ("deactivate", "activate"):
            assert (
                http.post(f"/api/v1/admin/users/{user.id}/{action}", headers=admin.headers).status_code == 200
            )
    first = http.get(AUDIT, params={"limit": 2, "actor": admin.email}, headers=admin.headers).json()
    assert len(first["items"]) == 2 and first["limit"] == 2
    second = http.get(
        AUDIT, params={"limit": 2, "actor": admin.email, "after": first["next_cursor"]}, headers=admin.headers
    ).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4

    only = newest(http, admin, 200, action="user.activate", outcome="ok")
    assert only and {(e["action"], e["outcome"]) for e in only} == {("user.activate", "ok")}
    assert newest(http, admin, 10, actor="nobody@example.com") == []
    for bad in ({"limit": 0}, {"limit": 201}, {"after": 0}, {"outcome": "maybe"}, {"action": "DROP TABLE"}):
        response = http.get(AUDIT, params=bad, headers=admin.headers)
        assert response.status_code == 422, (bad, response.text)

"""A token belongs to one account for ever: deleted, deactivated and re-passworded users are refused
at once, ids are never reused, and the admin API and `ctl users` switch users off (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from cli.ctl import cli
from tests.integration.api.conftest import Caller, LiveApi

# Enough fresh connections that both gunicorn workers answer some of them.
SPREAD = 12


def login(http: httpx.Client, caller: Caller, password: str | None = None) -> str:
    response = http.post(
        "/api/v1/auth/login", json={"email": caller.email, "password": password or caller.password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def statuses(live_api: LiveApi, headers: dict[str, str]) -> set[int]:
    """GET /auth/me on SPREAD new connections (so every API process is asked)."""
    found = set()
    for _ in range(SPREAD):
        with live_api.client() as fresh:
            found.add(fresh.get("/api/v1/auth/me", headers=headers).status_code)
    return found


def ctl_env(live_api: LiveApi, tmp_path: Path) -> dict[str, str]:
    return {"APP_HOME": str(tmp_path), "APP_ENV": "test", "DATABASE_URL": live_api.database_url}


def ctl(live_api: LiveApi, tmp_path: Path, *args: str) -> Result:
    """`ctl users ...` in this process (click's runner: stdout and stderr apart, no terminal)."""
    return CliRunner(env=ctl_env(live_api, tmp_path)).invoke(cli, ["users", *args])


def ctl_process(live_api: LiveApi, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m cli.ctl users ...` as a process of its own, as from a shell without a terminal."""
    env = {**os.environ, **ctl_env(live_api, tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "cli.ctl", "users", *args],
        env=env,
        stdin=subprocess.DEVNULL,  # a confirmation prompt reads end of input, never a terminal
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_deleted_users_token_and_key_never_authenticate_the_next_user(
    live_api: LiveApi, http: httpx.Client
) -> None:
    # The newest user, deleted (by SQL, as before there was another way), then another created: on
    # SQLite without AUTOINCREMENT the new user got the same id and the old token authenticated as them.
    victim = live_api.new_user()
    token = login(http, victim)
    item = http.post("/api/v1/items", json={"title": "mine"}, headers=victim.headers).json()
    with live_api.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": victim.id})
    newcomer = live_api.new_user()
    assert newcomer.id > victim.id
    assert statuses(live_api, bearer(token)) == {401}
    assert statuses(live_api, victim.headers) == {401}
    theirs = http.post("/api/v1/items", json={"title": "theirs"}, headers=newcomer.headers).json()
    assert theirs["id"] > item["id"]  # item ids are never reused either
    me = http.get("/api/v1/auth/me", headers=newcomer.headers).json()
    assert me["email"] == newcomer.email


def test_admin_deactivates_and_activates_a_user(live_api: LiveApi, http: httpx.Client, admin: Caller) -> None:
    user = live_api.new_user()
    token = login(http, user)
    assert http.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200

    response = http.post(f"/api/v1/admin/users/{user.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False and response.json()["email"] == user.email
    # At once, in every API process: the token, the key (both headers), and a new login.
    assert statuses(live_api, bearer(token)) == {401}
    assert statuses(live_api, user.headers) == {401}
    assert statuses(live_api, bearer(user.api_key)) == {401}
    assert (
        http.post("/api/v1/auth/login", json={"email": user.email, "password": user.password}).status_code
        == 401
    )
    listed = {u["id"]: u for u in http.get("/api/v1/admin/users", headers=admin.headers).json()}
    assert listed[user.id]["is_active"] is False

    response = http.post(f"/api/v1/admin/users/{user.id}/activate", headers=admin.headers)
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert statuses(live_api, user.headers) == {200}  # keys work again
    assert statuses(live_api, bearer(token)) == {401}  # tokens from before the deactivation do not
    assert statuses(live_api, bearer(login(http, user))) == {200}


def test_admin_deletes_a_user_with_everything_they_own(
    live_api: LiveApi, http: httpx.Client, admin: Caller
) -> None:
    user = live_api.new_user()
    token = login(http, user)
    item = http.post("/api/v1/items", json={"title": "gone soon"}, headers=user.headers).json()
    assert http.delete(f"/api/v1/admin/users/{user.id}", headers=admin.headers).status_code == 204
    assert statuses(live_api, bearer(token)) == {401}
    assert statuses(live_api, user.headers) == {401}
    assert http.get(f"/api/v1/items/{item['id']}", headers=admin.headers).status_code == 404
    assert user.id not in [u["id"] for u in http.get("/api/v1/admin/users", headers=admin.headers).json()]
    again = http.delete(f"/api/v1/admin/users/{user.id}", headers=admin.headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_admin_user_endpoints_refuse_non_admins_and_the_admin_themself(
    live_api: LiveApi, http: httpx.Client, admin: Caller, owner: Caller, other: Caller
) -> None:
    for method, path in (
        ("GET", "/api/v1/admin/users"),
        ("POST", f"/api/v1/admin/users/{other.id}/deactivate"),
        ("POST", f"/api/v1/admin/users/{other.id}/activate"),
        ("DELETE", f"/api/v1/admin/users/{other.id}"),
    ):
        assert http.request(method, path, headers=owner.headers).status_code == 403, path
        assert http.request(method, path).status_code == 401, path
    for method, path in (
        ("POST", f"/api/v1/admin/users/{admin.id}/deactivate"),
        ("DELETE", f"/api/v1/admin/users/{admin.id}"),
    ):
        response = http.request(method, path, headers=admin.headers)
        assert response.status_code == 409 and "your own account" in response.json()["error"]["message"]
    assert http.post("/api/v1/admin/users/999999999/deactivate", headers=admin.headers).status_code == 404
    # 0 is a missing id like any other (ids are plain digits from 1: api.path_ids).
    assert http.post("/api/v1/admin/users/0/deactivate", headers=admin.headers).status_code == 404
    assert http.get("/api/v1/auth/me", headers=other.headers).status_code == 200  # nothing changed


def test_ctl_users_deactivate_activate_delete_and_set_password(
    live_api: LiveApi, http: httpx.Client, tmp_path: Path
) -> None:
    user = live_api.new_user()
    token = login(http, user)

    result = ctl(live_api, tmp_path, "deactivate", user.email)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"deactivated user {user.id} {user.email}"
    assert statuses(live_api, bearer(token)) == {401} and statuses(live_api, user.headers) == {401}
    listed = ctl(live_api, tmp_path, "list").stdout
    assert any(
        line.split()[:2] == [str(user.id), user.email] and "inactive" in line for line in listed.splitlines()
    )

    assert ctl(live_api, tmp_path, "activate", str(user.id)).exit_code == 0
    assert statuses(live_api, user.headers) == {200}

    token = login(http, user)
    result = ctl(live_api, tmp_path, "set-password", str(user.id), "--password", "a new long password")
    assert result.exit_code == 0, result.output
    assert statuses(live_api, bearer(token)) == {401}  # a password change ends every session
    assert (
        http.post("/api/v1/auth/login", json={"email": user.email, "password": user.password}).status_code
        == 401
    )
    assert statuses(live_api, bearer(login(http, user, "a new long password"))) == {200}

    short = ctl(live_api, tmp_path, "set-password", str(user.id), "--password", "short")
    assert short.exit_code == 1 and short.stderr.strip() == (
        "Error: password too short: use at least 8 characters"
    )

    # A process of its own, without a terminal: the confirmation reads end of input, nothing deleted.
    refused = ctl_process(live_api, tmp_path, "delete", user.email)
    assert refused.returncode == 1 and statuses(live_api, user.headers) == {200}
    result = ctl(live_api, tmp_path, "delete", user.email, "--yes")
    assert result.exit_code == 0 and result.stdout.strip() == f"deleted user {user.id} {user.email}"
    assert statuses(live_api, user.headers) == {401}

    missing = ctl_process(live_api, tmp_path, "deactivate", "nobody@example.com")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().startswith("Error: no user 'nobody@example.com'")


@pytest.mark.parametrize(
    "path", ["/health", "/api/v1/auth/me", "/api/v1/items/1", "/api/v1/nowhere", "/openapi.json"]
)
def test_every_response_has_nosniff_and_no_server_header(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.headers
    assert "server" not in response.headers, response.headers


def test_credentials_are_never_cached(http: httpx.Client, owner: Caller) -> None:
    response = http.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    created = http.post("/api/v1/api-keys", json={"name": "cached?"}, headers=owner.headers)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    assert created.headers["X-Content-Type-Options"] == "nosniff"


def test_the_database_and_var_are_private(live_api: LiveApi) -> None:
    var = Path(live_api.server.home) / "var"
    assert oct(var.stat().st_mode & 0o777) == oct(0o700)  # created 0755 by the test, tightened
    if live_api.backend == "sqlite":
        database = var / "app.db"
        for path in (database, database.with_name("app.db-wal")):
            assert oct(path.stat().st_mode & 0o777) == oct(0o600), path

"""An existing database (revision 0003, rows written by the old code) upgrades in place when the real
server starts: every row is kept and keeps working, and from then on no id is ever reused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, create_engine, pool, text

from store.credentials import generate_api_key
from store.migrate import current_revision, head_revision, upgrade
from tests.integration.api.conftest import backend_database
from tests.support.api_server import ApiServer
from tests.support.passwords import hashed

USERS = ("admin@example.com", "ann@example.com", "bob@example.com")
PASSWORD = "old but fine"


@contextmanager
def api_database(database_url: str) -> Iterator[Connection]:
    """A short transaction on the database, beside the server."""
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def seed_0003(database_url: str) -> dict[str, str]:
    """Users, API keys and items as revision 0003's schema held them; returns each user's key."""
    upgrade(database_url, "0003")
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            for email in USERS:
                user_id = conn.execute(
                    text(
                        "INSERT INTO users (email, password_hash, is_admin, is_active, created_at) "
                        "VALUES (:email, :hash, :admin, true, :now) RETURNING id"
                    ),
                    {
                        "email": email,
                        "hash": hashed(PASSWORD),  # an argon2 hash, made once per process
                        "admin": email.startswith("admin"),
                        "now": now,
                    },
                ).scalar_one()
                key, prefix, key_hash = generate_api_key()
                keys[email] = key
                conn.execute(
                    text(
                        "INSERT INTO api_keys (user_id, name, prefix, key_hash, created_at) "
                        "VALUES (:user_id, 'old', :prefix, :hash, :now)"
                    ),
                    {"user_id": user_id, "prefix": prefix, "hash": key_hash, "now": now},
                )
                for n in range(3):
                    conn.execute(
                        text(
                            "INSERT INTO items (user_id, title, description, status, metadata, attempts,"
                            " available_at, created_at, updated_at)"
                            " VALUES (:user_id, :title, '', 'done', '{}', 0, :now, :now, :now)"
                        ),
                        {"user_id": user_id, "title": f"{email} {n}", "now": now},
                    )
    finally:
        engine.dispose()
    return keys


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_old_database_upgrades_in_place_and_never_reuses_ids(backend: str, tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    with ExitStack() as stack:
        database_url = backend_database(stack, backend, tmp_path)
        keys = seed_0003(database_url)
        api = stack.enter_context(ApiServer(tmp_path, database_url=database_url, workers=2))
        assert current_revision(database_url) == head_revision()
        http = stack.enter_context(httpx.Client(base_url=api.url, timeout=30))
        admin, ann, bob = ({"X-API-Key": keys[email]} for email in USERS)

        # Every row kept, every credential still working.
        for email in USERS:
            items = http.get("/api/v1/items", headers={"X-API-Key": keys[email]}).json()
            owners = USERS if email == USERS[0] else (email,)  # the admin sees everyone's
            assert sorted(i["title"] for i in items["items"]) == [
                f"{o} {n}" for o in owners for n in range(3)
            ]
            login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200
            me = http.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
            )
            assert me.json()["email"] == email

        # The newest item deleted: the next item gets a new id, not its id.
        newest = max(
            i["id"] for i in http.get("/api/v1/items", headers=admin, params={"limit": 100}).json()["items"]
        )
        assert http.delete(f"/api/v1/items/{newest}", headers=bob).status_code == 204
        created = http.post("/api/v1/items", json={"title": "after"}, headers=ann).json()
        assert created["id"] > newest

        # The newest user deleted: the next user gets a new id, and the old token stays refused.
        bob_token = http.post("/api/v1/auth/login", json={"email": USERS[2], "password": PASSWORD}).json()[
            "access_token"
        ]
        bob_id = http.get("/api/v1/auth/me", headers=bob).json()["id"]
        assert http.delete(f"/api/v1/admin/users/{bob_id}", headers=admin).status_code == 204
        with api_database(database_url) as conn:
            newcomer = conn.execute(
                text(
                    "INSERT INTO users (email, password_hash, is_admin, is_active, created_at) "
                    "VALUES ('new@example.com', 'x', false, true, :now) RETURNING id"
                ),
                {"now": datetime.now(UTC)},
            ).scalar_one()
        assert newcomer > bob_id
        assert (
            http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {bob_token}"}).status_code == 401
        )
        assert http.get("/api/v1/auth/me", headers=bob).status_code == 401

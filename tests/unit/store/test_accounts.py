"""accounts.py on a real database (SQLite and PostgreSQL), as ``ctl`` uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.security import hash_api_key, hash_password, verify_password
from store.accounts import (
    AccountError,
    activate_user,
    create_api_key,
    create_user,
    create_user_with_hash,
    deactivate_user,
    delete_user,
    find_user,
    get_user_by_email,
    list_api_keys,
    list_users,
    revoke_api_key,
    set_password,
)
from store.db import Database
from store.migrate import upgrade


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def test_create_and_find_users(db: Database) -> None:
    with db.session() as session:
        ann = create_user(session, email="  Ann@Example.COM ", password="long enough")
        create_user(session, email="root@example.com", password="long enough", is_admin=True)
    assert ann.id and ann.email == "ann@example.com"
    with db.session() as session:
        found = get_user_by_email(session, "ANN@example.com")
        assert found is not None and found.id == ann.id
        assert verify_password("long enough", found.password_hash)[0]
        assert found.password_hash != "long enough"
        assert [(u.email, u.is_admin) for u in list_users(session)] == [
            ("ann@example.com", False),
            ("root@example.com", True),
        ]
        assert get_user_by_email(session, "nobody@example.com") is None


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("not-an-email", "long enough", "not a valid email"),
        ("a@b", "long enough", "not a valid email"),
        ("a b@c.d", "long enough", "not a valid email"),
        ("ok@example.com", "short", "too short"),
        ("ok@example.com", "x" * 2000, "too long"),
        ("ok@example.com", "has\x00nul-char", "NUL"),
    ],
)
def test_bad_user_input(db: Database, email: str, password: str, message: str) -> None:
    with pytest.raises(AccountError, match=message), db.session() as session:
        create_user(session, email=email, password=password)
    with db.session() as session:
        assert list_users(session) == []


def test_duplicate_email_is_refused(db: Database) -> None:
    with db.session() as session:
        create_user(session, email="dup@example.com", password="long enough")
    with pytest.raises(AccountError, match="already exists"), db.session() as session:
        create_user(session, email="DUP@example.com", password="long enough")


def test_a_user_brought_over_with_a_hashed_password_logs_in_with_it(db: Database) -> None:
    stored = hash_password("brought over")
    with db.session() as session:
        ann = create_user_with_hash(session, email=" Ann@Example.com", password_hash=stored, is_admin=True)
    with db.session() as session:
        found = get_user_by_email(session, "ann@example.com")
        assert found is not None and found.id == ann.id and found.is_admin and found.is_active
        assert found.password_hash == stored and verify_password("brought over", found.password_hash)[0]
    with pytest.raises(AccountError, match="already exists"), db.session() as session:
        create_user_with_hash(session, email="ANN@example.com", password_hash=stored)
    for email, password_hash, message in (
        ("bob@example.com", "brought over", "not a password hash"),  # a plain password is refused
        ("bob@example.com", "", "not a password hash"),
        ("not-an-email", stored, "not a valid email"),
    ):
        with pytest.raises(AccountError, match=message), db.session() as session:
            create_user_with_hash(session, email=email, password_hash=password_hash)
    with db.session() as session:
        assert [u.email for u in list_users(session)] == ["ann@example.com"]


def test_api_keys_create_list_revoke(db: Database) -> None:
    with db.session() as session:
        ann = create_user(session, email="ann@example.com", password="long enough")
        bob = create_user(session, email="bob@example.com", password="long enough")
        api_key, key = create_api_key(session, user_id=ann.id, name=" laptop ")
        create_api_key(session, user_id=bob.id, name="ci")
    assert api_key.name == "laptop" and api_key.key_hash == hash_api_key(key) and key.startswith("sk_")
    with db.session() as session:
        assert [k.name for k in list_api_keys(session, user_id=ann.id)] == ["laptop"]
        assert len(list_api_keys(session)) == 2
        assert revoke_api_key(session, key_id=api_key.id, user_id=bob.id) is False  # not bob's
        assert revoke_api_key(session, key_id=api_key.id, user_id=ann.id) is True
        assert revoke_api_key(session, key_id=api_key.id) is True  # already revoked: still found
        assert revoke_api_key(session, key_id=10**6) is False
        assert revoke_api_key(session, key_id=2**70) is False
    with db.session() as session:
        assert list_api_keys(session, user_id=ann.id)[0].revoked_at is not None


def test_api_key_for_missing_user_or_bad_name(db: Database) -> None:
    with pytest.raises(AccountError, match="no user"), db.session() as session:
        create_api_key(session, user_id=4242, name="x")
    with db.session() as session:
        user = create_user(session, email="c@example.com", password="long enough")
    for name in ("", "   ", "n" * 101):
        with pytest.raises(AccountError, match="name"), db.session() as session:
            create_api_key(session, user_id=user.id, name=name)


def test_token_versions_differ_and_change_when_the_account_is_switched_off(db: Database) -> None:
    with db.session() as session:
        ann = create_user(session, email="ann@example.com", password="long enough")
        bob = create_user(session, email="bob@example.com", password="long enough")
    assert ann.token_version != bob.token_version  # random starts: no two accounts share one
    with db.session() as session:
        off = deactivate_user(session, user_id=ann.id)
    assert off is not None and not off.is_active and off.token_version == ann.token_version + 1
    with db.session() as session:
        on = activate_user(session, user_id=ann.id)
    assert on is not None and on.is_active and on.token_version == ann.token_version + 1
    with db.session() as session:
        changed = set_password(session, user_id=ann.id, password="another long one")
    assert changed is not None and changed.token_version == ann.token_version + 2
    assert verify_password("another long one", changed.password_hash)[0]
    with db.session() as session:
        assert (
            find_user(session, str(bob.id)) is not None and find_user(session, "BOB@example.com") is not None
        )
        assert (
            deactivate_user(session, user_id=10**6) is None
            and set_password(session, user_id=10**6, password="long enough") is None
        )
        assert find_user(session, "0") is None and find_user(session, str(2**70)) is None


def test_delete_user_takes_their_keys_along_and_ids_are_not_reused(db: Database) -> None:
    with db.session() as session:
        ann = create_user(session, email="ann@example.com", password="long enough")
        create_api_key(session, user_id=ann.id, name="laptop")
    with db.session() as session:
        assert delete_user(session, user_id=ann.id)
        assert not delete_user(session, user_id=ann.id)
        assert list_api_keys(session, user_id=ann.id) == []
    with db.session() as session:
        assert create_user(session, email="next@example.com", password="long enough").id > ann.id

"""The local demo user: created once at set-up, its credentials kept in an untracked file.

    email, password = ensure_demo_user(settings)   # password is None if the file was lost

``bin/run`` calls this and prints the result; ``python -m api.bootstrap`` does the same. The demo user
is the first admin of a local stack. The file is ``VAR_DIR/demo-credentials.json`` (mode 0600),
never in the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from config.config import ConfigError, Settings, get_settings
from store.accounts import create_user, get_user_by_email
from store.db import Database
from store.migrate import upgrade

DEMO_EMAIL = "demo@example.com"
CREDENTIALS_FILE = "demo-credentials.json"


def credentials_path(settings: Settings) -> Path:
    return Path(settings.VAR_DIR) / CREDENTIALS_FILE


def _read_credentials(path: Path) -> tuple[str, str | None] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable or corrupt: treated as lost
    if not isinstance(data, dict) or not isinstance(data.get("email"), str):
        return None
    password = data.get("password")
    return data["email"], password if isinstance(password, str) else None


def _write_credentials(path: Path, email: str, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"email": email, "password": password}, handle)
        handle.write("\n")
    os.chmod(path, 0o600)  # in case the file existed with wider permissions


def ensure_demo_user(settings: Settings) -> tuple[str, str | None]:
    """(email, password) of the demo user, creating user and file on the first call."""
    path = credentials_path(settings)
    upgrade(settings.DATABASE_URL)
    database = Database.from_settings(settings, application_name="bootstrap")
    try:
        with database.session() as session:
            if get_user_by_email(session, DEMO_EMAIL) is not None:
                saved = _read_credentials(path)
                if saved is not None and saved[0] == DEMO_EMAIL:
                    return saved
                return DEMO_EMAIL, None
            password = secrets.token_urlsafe(12)
            create_user(session, email=DEMO_EMAIL, password=password, is_admin=True)
            # Written inside the transaction: if the file cannot be written, no user without a password.
            _write_credentials(path, DEMO_EMAIL, password)
            return DEMO_EMAIL, password
    finally:
        database.dispose()


def main() -> int:
    try:
        email, password = ensure_demo_user(get_settings())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if password is None:
        print(
            f"demo user: {email} (password unknown: {CREDENTIALS_FILE} is missing; "
            "set a new one with `ctl users`)"
        )
    else:
        print(f"demo user: {email}  password: {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo user: created once, credentials in VAR_DIR/demo-credentials.json (0600)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from api.bootstrap import DEMO_EMAIL, credentials_path, ensure_demo_user
from api.security import verify_password
from config.config import load
from store.accounts import get_user_by_email
from store.db import Database


def test_demo_user_created_once_and_credentials_kept_private(tmp_path: Path) -> None:
    settings = load({"APP_HOME": str(tmp_path)}, environ={})
    email, password = ensure_demo_user(settings)
    assert email == DEMO_EMAIL and password
    path = credentials_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"email": email, "password": password}
    assert ensure_demo_user(settings) == (email, password)  # same answer, no second user
    database = Database(settings.DATABASE_URL)
    with database.session() as session:
        user = get_user_by_email(session, DEMO_EMAIL)
        assert user is not None and user.is_admin and verify_password(password, user.password_hash)[0]
    database.dispose()

    path.unlink()  # lost file: the user stays, the password is unknown
    assert ensure_demo_user(settings) == (DEMO_EMAIL, None)


def test_module_prints_the_credentials(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.bootstrap"],
        capture_output=True,
        text=True,
        env={"APP_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "var" / "demo-credentials.json").read_text())
    assert f"demo user: {DEMO_EMAIL}  password: {saved['password']}" in result.stdout

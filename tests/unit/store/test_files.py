"""The SQLite database holds password and key hashes: only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from config.config import load
from store.db import Database
from store.files import protect_directory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'var' / 'app.db'}")
    try:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        assert mode(tmp_path / "var") == 0o700
        for name in ("app.db", "app.db-wal", "app.db-shm"):
            assert mode(tmp_path / "var" / name) == 0o600, name
    finally:
        database.dispose()


def test_an_existing_database_and_var_dir_are_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    (var / "app.db").touch()
    os.chmod(var / "app.db", 0o644)
    database = Database.from_settings(load({"APP_HOME": str(tmp_path)}, environ={}))
    database.dispose()
    assert (mode(var), mode(var / "app.db")) == (0o700, 0o600)


def test_a_shared_sticky_directory_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    protect_directory(shared)
    assert mode(shared) == 0o1777

"""File modes of a SQLite database: it holds password and API key hashes, so only we may read it.

    protect_sqlite_file(Path("var/app.db"))      # dir made 0700 if missing, file 0600
    protect_directory(Path("var"))               # an existing dir of ours tightened to 0700

SQLite creates its ``-wal`` and ``-shm`` files with the database file's mode, so a 0600 database
keeps its journal private too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _tighten(path: Path) -> None:
    """Take group and other permissions away from ``path`` when it is ours (never someone else's)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_ISVTX:  # a shared directory such as /tmp: never ours alone, leave it be
        return
    if info.st_uid == os.geteuid() and mode & 0o077:
        os.chmod(path, mode & ~0o077)


def protect_directory(directory: Path) -> None:
    """Create ``directory`` 0700, or tighten it to 0700 when it exists and is ours."""
    directory.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(directory)


def protect_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, usually 0644),
    in a directory created 0700 when missing; tighten an existing file (and its journal) to 0600."""
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        _tighten(candidate)

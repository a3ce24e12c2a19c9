"""One password for the many users a test process makes, hashed once.

    password, password_hash = shared_password()
    create_user_with_hash(session, email=email, password_hash=password_hash)

argon2 costs about 0.2 CPU seconds a hash by design; the API suites made a few hundred users, each
hashing a fresh password in the test process. The hash is real (``hash_password``), so the API
verifies the password at every login exactly as it verifies any other; tests about passwords (a
wrong one, a change, a legacy bcrypt hash) set their own.
"""

from __future__ import annotations

import functools
import secrets

from store.credentials import hash_password


@functools.cache
def shared_password() -> tuple[str, str]:
    """(password, its argon2 hash), the same for every caller in this process."""
    password = secrets.token_urlsafe(12)
    return password, hash_password(password)


@functools.cache
def hashed(password: str) -> str:
    """``hash_password(password)``, once per process: for a test's fixed password given to several users."""
    return hash_password(password)

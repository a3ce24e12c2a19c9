"""Settings that parse but must not run: every problem as one line, for the operator to fix.

    from config.checks import problems
    for line in problems(settings):      # [] when the settings may run
        print(f"error: {line}")

``python -m config check`` prints them; the API refuses to start on any (``api.app``). Production
(``APP_ENV=production``) needs a strong JWT secret and no debug logging unless forced.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.config import DEFAULT_JWT_SECRET, Settings

MIN_SECRET_BYTES = 32
# 40 x "a" is 40 bytes and guessable; a random secret of 32+ characters has far more than this
# (a hex one about 16, a token_urlsafe one about 40).
MIN_SECRET_DISTINCT_CHARACTERS = 10
SECRET_HINT = "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"  # noqa: S105 - a hint on making a secret, not one


def production_problems(settings: Settings) -> list[str]:
    """What APP_ENV=production refuses (nothing for development and test)."""
    if not settings.is_production:
        return []
    found: list[str] = []
    secret = settings.JWT_SECRET
    if secret in ("", DEFAULT_JWT_SECRET):
        found.append(
            "JWT_SECRET is missing or the development default: set a long random secret "
            f"({SECRET_HINT}) before starting with APP_ENV=production"
        )
    elif len(secret.encode()) < MIN_SECRET_BYTES:
        found.append(
            f"JWT_SECRET is {len(secret.encode())} bytes: APP_ENV=production needs at least "
            f"{MIN_SECRET_BYTES} ({SECRET_HINT})"
        )
    elif len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS:
        found.append(
            f"JWT_SECRET has {len(set(secret))} distinct characters: APP_ENV=production needs at least "
            f"{MIN_SECRET_DISTINCT_CHARACTERS}, as a random secret has ({SECRET_HINT})"
        )
    if settings.LOG_LEVEL.strip().upper() == "DEBUG" and not settings.ALLOW_DEBUG_IN_PRODUCTION:
        found.append(
            "LOG_LEVEL=DEBUG with APP_ENV=production: debug logs may show secrets and personal data; "
            "use INFO, or set ALLOW_DEBUG_IN_PRODUCTION=true to force it"
        )
    return found


def limit_problems(settings: Settings) -> list[str]:
    """Limits that would break the API in any environment."""
    found: list[str] = []
    if settings.IDEMPOTENCY_KEY_TTL_SECONDS < 60:
        found.append(
            f"setting IDEMPOTENCY_KEY_TTL_SECONDS={settings.IDEMPOTENCY_KEY_TTL_SECONDS}: must be at least 60"
        )
    if settings.API_MAX_BODY_BYTES < 1024:
        found.append(f"setting API_MAX_BODY_BYTES={settings.API_MAX_BODY_BYTES}: must be at least 1024")
    if settings.API_KEYS_MAX_ACTIVE < 1:
        found.append(f"setting API_KEYS_MAX_ACTIVE={settings.API_KEYS_MAX_ACTIVE}: must be at least 1")
    if not 1 <= settings.API_HEADER_TIMEOUT <= 3600:
        found.append(f"setting API_HEADER_TIMEOUT={settings.API_HEADER_TIMEOUT:g}: must be 1 to 3600 seconds")
    return found


def database_problems(settings: Settings) -> list[str]:
    """REQUIRE_DATABASE_URL (the image's): no database of the container's own."""
    if settings.REQUIRE_DATABASE_URL and not (settings.database_url_given or settings.DB_HOST):
        return [
            "DATABASE_URL is not set: this image keeps no database of its own "
            "(REQUIRE_DATABASE_URL=true); set DATABASE_URL=postgresql+psycopg://USER:PASSWORD@HOST:5432/NAME"
        ]
    return []


def home_problems(settings: Settings) -> list[str]:
    """The stack home must exist, and VAR_DIR (database, sockets, pid files) must be writable."""
    home = Path(settings.APP_HOME)
    if not home.is_dir():
        return [f"APP_HOME={home} does not exist: create it, or point APP_HOME at the stack's home"]
    var = Path(settings.VAR_DIR)
    existing = next((p for p in (var, *var.parents) if p.exists()), var)
    if not os.access(existing, os.W_OK | os.X_OK):
        return [
            f"VAR_DIR={var} is not writable (in APP_HOME={home}): the stack writes its database, "
            "sockets and pid files there (give its user write access, or mount a volume there)"
        ]
    return []


def problems(settings: Settings) -> list[str]:
    """Every reason ``settings`` must not run, one line each."""
    from config.config import worker_stop_problems

    return [
        *home_problems(settings),
        *production_problems(settings),
        *database_problems(settings),
        *limit_problems(settings),
        *worker_stop_problems(settings),
    ]

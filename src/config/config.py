"""Every setting of the stack, read from the environment and an optional ``.env`` file.

This is the only module that reads environment variables. Precedence, highest first:
the process environment, then ``$APP_HOME/.env``, then the defaults below.

Library code is handed a :class:`Settings`; it never looks one up. Two ways to make one::

    settings = get_settings()              # an entry point (a main(), gunicorn.conf.py): loaded once
    settings = load({"API_PORT": "9001"})  # explicit, fresh: tests, tools, a library's fallback

Importing is cheap (standard library only); the ``.env`` file is read on first use.
A value that does not parse raises :class:`ConfigError` naming the setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JWT_SECRET = "dev-insecure-change-me"


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


def _int(value: str) -> int:
    return int(value.strip())


def _float(value: str) -> float:
    return float(value.strip())


def _port(value: str) -> int:
    try:
        port = int(value.strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number between 1 and 65535")
    return port


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def _str(value: str) -> str:
    return value


_KIND = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def setting(default: Any, parse: Callable[[str], Any] = _str, doc: str = "") -> Any:
    return field(default=default, metadata={"parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """All settings with their defaults. Paths left empty are derived from ``APP_HOME``."""

    APP_ENV: str = setting("development", doc="development, test or production")
    APP_HOME: str = setting("", doc="stack home: .env, var/ and logs/ live here (default: repository root)")

    API_HOST: str = setting("127.0.0.1", doc="API bind address")
    API_PORT: int = setting(8001, _port, "API port")
    API_WORKERS: int = setting(2, _int, "gunicorn worker processes")
    API_GRACEFUL_TIMEOUT: int = setting(20, _int, "seconds gunicorn drains requests on stop")
    API_MAX_REQUESTS: int = setting(10000, _int, "requests before a gunicorn worker is recycled")
    API_MAX_REQUESTS_JITTER: int = setting(1000, _int, "random spread of API_MAX_REQUESTS")
    STATIC_DIR: str = setting("", doc="built frontend (npm run build) the API serves at / in production")
    API_URL: str = setting("", doc="URL tools use to reach the API (default http://API_HOST:API_PORT)")

    FRONTEND_HOST: str = setting("127.0.0.1", doc="Vite dev server bind address")
    FRONTEND_PORT: int = setting(5173, _port, "Vite dev server port")

    WORKER_HEALTH_PORT: int = setting(8090, _port, "health port of worker 0; worker N uses this + N")
    WORKER_HEALTH_HOST: str = setting("127.0.0.1", doc="worker health bind address (0.0.0.0 for k8s)")
    WORKER_IDLE_INTERVAL: float = setting(30.0, _float, "seconds between polls when idle")
    WORKER_ACTIVE_INTERVAL: float = setting(0.0, _float, "seconds between polls while work is found")
    WORKER_MAX_RETRIES: int = setting(5, _int, "attempts before an item is marked failed")
    WORKER_BATCH_SIZE: int = setting(10, _int, "items claimed per batch")
    WORKER_LEASE_SECONDS: float = setting(60.0, _float, "how long a claim is held before others may take it")
    WORKER_STALL_SECONDS: float = setting(120.0, _float, "loop silence after which /livez answers 503")
    WORKER_SIMULATED_WORK: float = setting(0.0, _float, "extra seconds of simulated work per item (demos)")
    BACKOFF_MIN_DELAY: float = setting(1.0, _float, "first backoff delay after an error, seconds")
    BACKOFF_MAX_DELAY: float = setting(300.0, _float, "longest backoff delay, seconds")

    DATABASE_URL: str = setting(
        "", doc="SQLAlchemy URL (default: SQLite file var/app.db, or DB_* when DB_HOST is set)"
    )
    DB_HOST: str = setting("", doc="PostgreSQL host, used when DATABASE_URL is empty")
    DB_PORT: int = setting(5432, _port, "PostgreSQL port")
    DB_NAME: str = setting("app", doc="PostgreSQL database")
    DB_USER: str = setting("postgres", doc="PostgreSQL user")
    DB_PASSWORD: str = setting("", doc="PostgreSQL password")
    DB_POOL_SIZE: int = setting(5, _int, "connections kept per process (and an API process's DB threads)")
    DB_MAX_OVERFLOW: int = setting(10, _int, "extra connections allowed under load")

    LOG_DIR: str = setting("", doc="program logs (default APP_HOME/logs)")
    LOG_LEVEL: str = setting("INFO", doc="DEBUG, INFO, WARNING or ERROR")
    VAR_DIR: str = setting("", doc="runtime files: database, socket, pid (default APP_HOME/var)")
    SUPERVISOR_SOCKET: str = setting("", doc="supervisord unix socket (default VAR_DIR/run/supervisor.sock)")
    SUPERVISOR_SERVERS: str = setting(
        "",
        doc="comma-separated supervisord endpoints, one per host (unix:///path.sock or "
        "http://HOST:PORT); empty: SUPERVISOR_SOCKET only",
    )
    SUPERVISOR_USERNAME: str = setting("", doc="username for http:// supervisord endpoints")
    SUPERVISOR_PASSWORD: str = setting("", doc="password for http:// supervisord endpoints")
    # Operations (ops/, bin/monitor.py, ctl, the health listener).
    SUPERVISOR_CONFIG: str = setting(
        "",
        doc="supervisord.conf whose [include] files declare each program's health_check "
        "(default: the repository's supervisord.conf)",
    )
    HEALTH_PROBE_TIMEOUT: float = setting(
        2.0, _float, "seconds one health probe may take (monitor, ctl, listener)"
    )
    HEALTHCHECK_INTERVAL: float = setting(
        2.0, _float, "seconds between the health listener's probes of every program"
    )
    HEALTHCHECK_FAILURES: int = setting(
        2, _int, "consecutive failed probes before the listener restarts a program (at least 2)"
    )
    HEALTHCHECK_GRACE_SECONDS: float = setting(
        30.0, _float, "no health restarts this long after a program starts"
    )
    HEALTHCHECK_MAX_RESTARTS: int = setting(
        3, _int, "health restarts per program per window, then it is left alone"
    )
    HEALTHCHECK_WINDOW_SECONDS: float = setting(3600.0, _float, "the window of HEALTHCHECK_MAX_RESTARTS")
    HEALTHCHECK_BACKOFF_MIN: float = setting(5.0, _float, "first delay before starting a FATAL program again")
    HEALTHCHECK_BACKOFF_MAX: float = setting(300.0, _float, "longest delay between starts of a FATAL program")

    JWT_SECRET: str = setting(DEFAULT_JWT_SECRET, doc="JWT signing secret; must be set in production")
    JWT_EXPIRES_SECONDS: int = setting(3600, _int, "access token lifetime")
    REDIS_URL: str = setting("", doc="Redis URL for rate limits shared by all API processes")
    RATE_LIMIT_DEFAULT: str = setting("600/minute", doc="per key, user or IP")
    RATE_LIMIT_LOGIN: str = setting("10/minute", doc="login attempts per IP")
    RATE_LIMIT_KEY_PREFIX: str = setting("ratelimit", doc="namespace of rate-limit counters (shared Redis)")
    IDEMPOTENCY_KEY_TTL_SECONDS: int = setting(
        86400, _int, "how long a create's Idempotency-Key is remembered (then purged)"
    )
    API_MAX_BODY_BYTES: int = setting(1_048_576, _int, "largest request body the API accepts (413 above)")

    def __post_init__(self) -> None:
        home = Path(self.APP_HOME or PROJECT_ROOT).resolve()
        var = Path(self.VAR_DIR) if self.VAR_DIR else home / "var"
        derived = {
            "APP_HOME": str(home),
            "VAR_DIR": str(var),
            "LOG_DIR": self.LOG_DIR or str(home / "logs"),
            "SUPERVISOR_SOCKET": self.SUPERVISOR_SOCKET or str(var / "run" / "supervisor.sock"),
            "SUPERVISOR_CONFIG": self.SUPERVISOR_CONFIG or str(PROJECT_ROOT / "supervisord.conf"),
            "API_URL": self.API_URL or f"http://{self.API_HOST}:{self.API_PORT}",
            "DATABASE_URL": self.DATABASE_URL or self._default_database_url(var),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def _default_database_url(self, var: Path) -> str:
        if self.DB_HOST:
            password = f":{self.DB_PASSWORD}" if self.DB_PASSWORD else ""
            return (
                f"postgresql+psycopg://{self.DB_USER}{password}@{self.DB_HOST}:{self.DB_PORT}/{self.DB_NAME}"
            )
        return f"sqlite:///{var / 'app.db'}"

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    def worker_health_port(self, worker_id: int) -> int:
        return self.WORKER_HEALTH_PORT + worker_id


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # small and pure Python; only when a .env exists

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _first(layers: list[Mapping[str, str]], name: str) -> str | None:
    """The value of ``name`` in the first layer that has it (what a ChainMap lookup does)."""
    return next((layer[name] for layer in layers if name in layer), None)


def load(overrides: Mapping[str, str] | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``overrides`` > ``environ`` (default ``os.environ``) > ``.env`` > defaults."""
    env = os.environ if environ is None else environ
    layers: list[Mapping[str, str]] = [dict(overrides or {}), env]
    home = _first(layers, "APP_HOME") or str(PROJECT_ROOT)
    dotenv_path = Path(home) / ".env"
    layers.append(_read_env_file(dotenv_path))
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = _first(layers, f.name)
        if raw is None:
            continue
        parse = f.metadata["parse"]
        try:
            values[f.name] = parse(raw)
        except ValueError as exc:
            origin = next(
                (
                    label
                    for label, layer in zip(
                        ("override", "environment", str(dotenv_path)), layers, strict=False
                    )
                    if f.name in layer
                ),
                "environment",
            )
            kind = _KIND.get(type(f.default), "valid")
            reason = str(exc) if parse in (_port, _bool) else f"must be {kind}"
            raise ConfigError(f"setting {f.name}={raw!r} (from {origin}): {reason}") from None
    return Settings(**values)


def describe() -> list[tuple[str, str, str]]:
    """(name, default, description) for every setting: the README's table comes from here."""
    return [(f.name, str(f.default), f.metadata["doc"]) for f in fields(Settings)]


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide Settings, loaded once: for entry points only (library code is handed one)."""
    global _settings
    if _settings is None:
        _settings = load()
    return _settings

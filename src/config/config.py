"""Every setting of the stack, read from the environment and an optional ``.env`` file.

This is the only module that reads environment variables. :class:`Settings` is a pydantic-settings
``BaseSettings``; its sources, highest first: the overrides handed to :func:`load`, the process
environment, then ``$APP_HOME/.env``, then the defaults below.

Library code is handed a :class:`Settings`; it never looks one up. Two ways to make one::

    settings = get_settings()              # an entry point (a main(), gunicorn.conf.py): loaded once
    settings = load({"API_PORT": "9001"})  # explicit, fresh: tests, tools, a library's fallback

Nothing is located relative to the source tree: the stack home (``APP_HOME``, default the working
directory) holds ``.env``, ``supervisord.conf``, ``conf/``, ``var/`` and ``logs/``; every path left
empty below is derived from it. A value that does not parse raises :class:`ConfigError`, one line
naming the setting, its value and where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_JWT_SECRET = "dev-insecure-change-me"  # noqa: S105 - the development default; production refuses it
SUPERVISOR_CONFIG_NAME = "supervisord.conf"
WORKERS_CONF = Path("conf") / "supervisord.d" / "workers.conf"  # beside SUPERVISOR_CONFIG
BUILT_APP = Path("src") / "frontend" / "dist"  # in the home: where bin/run builds the app


class Sizing(NamedTuple):
    api_workers: int
    worker_processes: int


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def auto_size(app_env: str, cpus: int) -> Sizing:
    """Process counts when API_WORKERS / WORKER_PROCESSES are 0 (the default).

    Production: one async API worker per CPU (at least 2, so a reload or a crash never leaves none;
    at most 8, because each holds DB_POOL_SIZE + DB_MAX_OVERFLOW connections) and one worker
    process per CPU. Elsewhere 2 and 2, whatever the machine: tests and laptops stay small.
    """
    if app_env != "production":
        return Sizing(api_workers=2, worker_processes=2)
    return Sizing(api_workers=min(max(2, cpus), 8), worker_processes=max(1, cpus))


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


# ----- values pydantic does not parse the way an operator writes them ---------------------------
# A field's second argument to setting(): _int, _float and _str leave the parsing to pydantic (the
# field's type), the others run before it and raise ValueError with the message the operator sees.


def _int(value: str) -> int:
    return int(value.strip())


def _float(value: str) -> float:
    return float(value.strip())


def _str(value: str) -> str:
    return value


_PYDANTIC_PARSES = (_int, _float, _str)


def _seconds_up_to(most: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        seconds = float(str(value).strip())
        if not 0 < seconds <= most:
            raise ValueError(f"must be more than 0 and at most {most:g} seconds")
        return seconds

    return parse


def _int_between(least: int, most: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"must be a whole number from {least:,} to {most:,}") from None
        if not least <= number <= most:
            raise ValueError(f"must be from {least:,} to {most:,}")
        return number

    return parse


def _port(value: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number between 1 and 65535")
    return port


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


APP_ENVS = ("development", "test", "production")


def _app_env(value: str) -> str:
    # Exact names only: "Production" or "prod" must not pass for a non-production environment
    # and start with development defaults.
    if value not in APP_ENVS:
        raise ValueError(f"must be one of {', '.join(APP_ENVS)} (exactly, in lower case)")
    return value


def _addresses(value: str) -> str:
    """Comma-separated IP addresses or networks (CIDR), or "*"; kept as text (gunicorn's form)."""
    import ipaddress

    parts = [part.strip() for part in value.split(",") if part.strip()]
    for part in parts:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part)
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return ",".join(parts)


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        chosen = value.strip().lower()
        if chosen not in allowed:
            raise ValueError("must be one of " + ", ".join(allowed))
        return chosen

    return parse


def _log_format(value: str) -> str:
    chosen = value.strip().lower()
    if chosen not in ("", "json", "text"):
        raise ValueError("must be json or text (empty: json in production, else text)")
    return chosen


def setting(default: Any, parse: Callable[[str], Any] = _str, doc: str = "") -> Any:
    """A field: its default, how a value given as text is read (see above), and its meaning."""
    info = Field(default, description=doc)
    if parse not in _PYDANTIC_PARSES:
        info.metadata.append(BeforeValidator(parse))
    return info


# The sources of one load(): overrides, an environment mapping and the .env file it names.
_SOURCES: ContextVar[tuple[Mapping[str, str], Mapping[str, str], Path]] = ContextVar("config_sources")


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ, or a test's)."""

    def __init__(self, settings_cls: type[BaseSettings], mapping: Mapping[str, str]) -> None:
        self._mapping = mapping
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._mapping)


class Settings(BaseSettings):
    """All settings with their defaults. Paths left empty are derived from ``APP_HOME``."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    APP_ENV: str = setting("development", _app_env, "development, test or production (nothing else)")
    APP_HOME: str = setting(
        "",
        doc="stack home: .env, supervisord.conf, conf/, var/ and logs/ live here "
        "(default: the working directory)",
    )

    API_HOST: str = setting("127.0.0.1", doc="API bind address")
    API_PORT: int = setting(8001, _port, "API port")
    API_WORKERS: int = setting(0, _int, "gunicorn worker processes; 0: auto (see WORKER_PROCESSES)")
    API_GRACEFUL_TIMEOUT: int = setting(20, _int, "seconds gunicorn drains requests on stop")
    API_MAX_REQUESTS: int = setting(10000, _int, "requests before a gunicorn worker is recycled")
    API_MAX_REQUESTS_JITTER: int = setting(1000, _int, "random spread of API_MAX_REQUESTS")
    API_LOG_RECHECK_SECONDS: float = setting(
        15.0,
        _seconds_up_to(15),
        "how often an open log stream checks that its caller is still an active admin (ends it if not)",
    )
    API_LOG_HEARTBEAT_SECONDS: float = setting(
        15.0,
        _seconds_up_to(60),
        "a log stream's heartbeat while no line is written; the page reconnects after two missed",
    )
    STATIC_DIR: str = setting(
        "",
        doc="built frontend the API serves at / "
        "(default in production: APP_HOME/src/frontend/dist, built by bin/run)",
    )
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
    WORKER_STOP_TIMEOUT: float = setting(
        10.0,
        _float,
        "seconds a warm stop lets a batch go on; then its items not started are given back "
        "(keep it well under stopwaitsecs in conf/supervisord.d/workers.conf)",
    )
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
    LOG_FORMAT: str = setting(
        "",
        _log_format,
        "json (one JSON object a line, for log shippers) or text; empty: json in production, else text",
    )
    VAR_DIR: str = setting("", doc="runtime files: database, socket, pid (default APP_HOME/var)")
    SUPERVISOR_SOCKET: str = setting("", doc="supervisord unix socket (default VAR_DIR/run/supervisor.sock)")
    SUPERVISOR_SERVERS: str = setting(
        "",
        doc="comma-separated supervisord endpoints, one per host (unix:///path.sock or "
        "http://HOST:PORT); empty: SUPERVISOR_SOCKET only",
    )
    SUPERVISOR_USERNAME: str = setting("", doc="username for http:// supervisord endpoints")
    SUPERVISOR_PASSWORD: str = setting("", doc="password for http:// supervisord endpoints")
    SUPERVISOR_HOST_TIMEOUT: float = setting(
        3.0,
        _seconds_up_to(60),
        "seconds the Services page (GET /api/v1/admin/hosts) waits for one SUPERVISOR_SERVERS host "
        "before showing it unreachable; hosts are read at once",
    )
    # Operations (ops/, bin/monitor.py, ctl, the health listener).
    SUPERVISOR_CONFIG: str = setting(
        "",
        doc="supervisord.conf whose [include] files declare each program's health_check "
        "(default: APP_HOME/supervisord.conf)",
    )
    HEALTH_PROBE_TIMEOUT: float = setting(
        2.0, _float, "seconds one health probe may take (monitor, ctl, listener)"
    )
    HEALTHCHECK_INTERVAL: float = setting(
        2.0, _float, "seconds between the health listener's probes of every program"
    )
    HEALTHCHECK_FAILURES: int = setting(
        2, _int, "consecutive failed liveness probes before the listener restarts a program (at least 2)"
    )
    HEALTHCHECK_GRACE_SECONDS: float = setting(
        30.0, _float, "no health restarts this long after a program starts or reloads (a new process)"
    )
    HEALTHCHECK_MAX_RESTARTS: int = setting(
        3, _int, "health restarts per program per window, then it is left alone"
    )
    HEALTHCHECK_WINDOW_SECONDS: float = setting(3600.0, _float, "the window of HEALTHCHECK_MAX_RESTARTS")
    HEALTHCHECK_BACKOFF_MIN: float = setting(5.0, _float, "first delay before starting a FATAL program again")
    HEALTHCHECK_BACKOFF_MAX: float = setting(300.0, _float, "longest delay between starts of a FATAL program")

    JWT_SECRET: str = setting(DEFAULT_JWT_SECRET, doc="JWT signing secret; must be set in production")
    JWT_EXPIRES_SECONDS: int = setting(3600, _int, "access token lifetime")
    REDIS_URL: str = setting(
        "",
        doc="Redis URL for rate limits shared by all API hosts (empty: shared by the API processes of "
        "one machine, in VAR_DIR/run/ratelimits.sqlite3)",
    )
    RATE_LIMIT_DEFAULT: str = setting(
        "600/minute",
        doc="per account (all of a user's API keys and tokens together), or per IP when anonymous",
    )
    RATE_LIMIT_LOGIN: str = setting("10/minute", doc="login attempts per IP")
    RATE_LIMIT_KEY_PREFIX: str = setting("ratelimit", doc="namespace of rate-limit counters (shared Redis)")
    # The production guard (config.checks): what APP_ENV=production refuses, and the one way past it.
    ALLOW_DEBUG_IN_PRODUCTION: bool = setting(
        False, _bool, "let LOG_LEVEL=DEBUG run with APP_ENV=production (debug logs may show secrets)"
    )
    IDEMPOTENCY_KEY_TTL_SECONDS: int = setting(
        86400, _int, "how long a create's Idempotency-Key is remembered (then purged)"
    )
    API_MAX_BODY_BYTES: int = setting(1_048_576, _int, "largest request body the API accepts (413 above)")
    # Hostile input (issue 12): bounds checked before anything is read further or written.
    API_MAX_METADATA_BYTES: int = setting(
        16_384, _int, "largest item metadata, as serialized JSON (422 above)"
    )
    API_MAX_METADATA_DEPTH: int = setting(
        32, _int, "deepest nesting of item metadata, the object itself is level 1 (422 above; at most 128)"
    )
    API_MAX_REQUEST_LINE_BYTES: int = setting(
        8_192, _int, "longest request line, method and target (414 above)"
    )
    API_MAX_HEADER_BYTES: int = setting(
        8_192, _int, "longest single request header, name and value (431 above)"
    )
    API_MAX_HEADERS_TOTAL_BYTES: int = setting(
        32_768, _int, "all request headers of a request together (431 above)"
    )
    API_HEADER_TIMEOUT: float = setting(
        30.0,
        _float,
        "seconds a client has to send a request's line and headers (from its first byte, or from "
        "connecting); then 408 and the connection is closed",
    )
    API_KEYS_MAX_ACTIVE: int = setting(
        100, _int, "API keys (not revoked) a user may hold; creating one more is a 409 until one is revoked"
    )

    API_ACCESS_LOG: bool = setting(
        True, _bool, "one line a request in the API's log (off when a proxy in front logs them already)"
    )
    API_METRICS: bool = setting(
        True,
        _bool,
        "Prometheus metrics of the API (requests, latency, in flight, pool, rate limited), gathered "
        "from every gunicorn worker under VAR_DIR/metrics/api; read at GET /api/v1/admin/metrics (admins)",
    )

    # Faults: who may set X-Forwarded-*, and what the rate limits do when Redis is unreachable.
    API_TRUSTED_PROXIES: str = setting(
        "",
        _addresses,
        "addresses/networks of reverse proxies whose X-Forwarded-For/-Proto the API believes "
        "(comma-separated); empty: none",
    )
    RATE_LIMIT_REDIS_DOWN: str = setting(
        "local",
        _choice("local", "open", "closed"),
        "when the rate-limit store is unreachable: local (count on this machine, or per process if "
        "its counter file fails too), open (no limits) or closed (503)",
    )

    # Production on one server (issue 21): how many processes, sized from the machine unless set.
    WORKER_PROCESSES: int = setting(
        0,
        _int,
        "worker processes bin/run starts; 0: auto (development 2 API workers and 2 worker processes; "
        "production API min(max(2, CPUs), 8), workers max(1, CPUs))",
    )

    # The container image (issue 31): a container's own SQLite file would split the data.
    REQUIRE_DATABASE_URL: bool = setting(
        False, _bool, "refuse to start without DATABASE_URL (or DB_HOST): the image sets it"
    )

    # The audit log (issue 37): every admin action, pruned whenever one is recorded.
    AUDIT_KEEP_DAYS: int = setting(
        90,
        _int_between(1, 3650),
        "days the audit log keeps an entry (older ones are deleted when one is recorded)",
    )
    AUDIT_MAX_ROWS: int = setting(
        100_000, _int_between(100, 10_000_000), "most entries the audit log keeps (the oldest go first)"
    )

    # Queue history (issue 37): counts per status per queue table, sampled by the health listener.
    QUEUE_HISTORY_INTERVAL: float = setting(
        30.0,
        _seconds_up_to(3600),
        "seconds between two queue history samples (taken by the health listener; with several hosts on one "
        "database, a sample younger than half of this is not taken again)",
    )
    QUEUE_HISTORY_KEEP_HOURS: int = setting(
        168,
        _int_between(1, 24 * 366),
        "hours of queue history kept (older samples are deleted as one is written)",
    )
    QUEUE_HISTORY_MAX_ROWS: int = setting(
        200_000,
        _int_between(100, 10_000_000),
        "most queue history rows kept, one per queue table a sample (the oldest go first)",
    )
    API_LOG_DOWNLOAD_MAX_BYTES: int = setting(
        16 * 1024 * 1024,
        _int_between(1024, 1024**3),
        "most bytes of a log file the Services page's download sends (the tail, when the file is larger)",
    )

    _auto_sized: frozenset[str] = PrivateAttr(default=frozenset())
    _database_url_given: bool = PrivateAttr(default=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        overrides, environ, dotenv_path = _SOURCES.get(({}, os.environ, _home_of({}, os.environ) / ".env"))
        return (
            _MappingSource(settings_cls, overrides),
            _MappingSource(settings_cls, environ),
            DotEnvSettingsSource(settings_cls, env_file=dotenv_path, case_sensitive=True),
        )

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        """Fill the paths and URLs left empty, and size the process counts left at 0."""
        self._database_url_given = bool(self.DATABASE_URL)
        home = Path(self.APP_HOME or os.getcwd()).resolve()
        var = Path(self.VAR_DIR) if self.VAR_DIR else home / "var"
        derived = {
            "APP_HOME": str(home),
            "VAR_DIR": str(var),
            "LOG_DIR": self.LOG_DIR or str(home / "logs"),
            "SUPERVISOR_SOCKET": self.SUPERVISOR_SOCKET or str(var / "run" / "supervisor.sock"),
            "SUPERVISOR_CONFIG": self.SUPERVISOR_CONFIG or str(home / SUPERVISOR_CONFIG_NAME),
            "API_URL": self.API_URL or f"http://{self.API_HOST}:{self.API_PORT}",
            "DATABASE_URL": self.DATABASE_URL or self._default_database_url(var),
            "STATIC_DIR": self.STATIC_DIR or (str(home / BUILT_APP) if self.is_production else ""),
            "LOG_FORMAT": self.LOG_FORMAT or ("json" if self.APP_ENV == "production" else "text"),
        }
        sizing = auto_size(self.APP_ENV, cpu_count())
        auto = {"API_WORKERS": sizing.api_workers, "WORKER_PROCESSES": sizing.worker_processes}
        auto = {name: value for name, value in auto.items() if getattr(self, name) <= 0}
        for name, value in {**derived, **auto}.items():
            object.__setattr__(self, name, value)  # frozen: derived once, here
        self._auto_sized = frozenset(auto)
        return self

    def _default_database_url(self, var: Path) -> str:
        if self.DB_HOST:
            password = f":{self.DB_PASSWORD}" if self.DB_PASSWORD else ""
            return (
                f"postgresql+psycopg://{self.DB_USER}{password}@{self.DB_HOST}:{self.DB_PORT}/{self.DB_NAME}"
            )
        return f"sqlite:///{var / 'app.db'}"

    def explicit(self, name: str) -> bool:
        """False for a process count sized from the machine (API_WORKERS, WORKER_PROCESSES at 0)."""
        return name not in self._auto_sized

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @property
    def database_url_given(self) -> bool:
        """DATABASE_URL was set (not derived from DB_HOST or VAR_DIR)."""
        return self._database_url_given

    @property
    def api_metrics_dir(self) -> Path:
        """Where gunicorn's API workers keep their metrics (prometheus_client's multiprocess mode)."""
        return Path(self.VAR_DIR) / "metrics" / "api"

    def worker_health_port(self, worker_id: int) -> int:
        return self.WORKER_HEALTH_PORT + worker_id


def supervisor_config_problem(settings: Settings) -> str | None:
    """One line when the stack home has no supervisord configuration (e.g. an installed package
    run from a home without conf/): what supervisor-related commands print instead of failing."""
    config = Path(settings.SUPERVISOR_CONFIG)
    if config.is_file():
        return None
    return (
        f"{config} does not exist: APP_HOME={settings.APP_HOME} holds no supervisord.conf and conf/ "
        "(run from the stack's home, or set APP_HOME or SUPERVISOR_CONFIG)"
    )


# ----- workers: the warm stop against supervisord's stopwaitsecs --------------------------------
SUPERVISOR_DEFAULT_STOPWAITSECS = 10.0  # supervisord's own default when a program sets none


def worker_stop_problems(settings: Settings, conf_path: Path | None = None) -> list[str]:
    """WORKER_STOP_TIMEOUT must stay well under (at most half) the ``stopwaitsecs`` of every
    program in ``workers.conf`` (beside SUPERVISOR_CONFIG): after the timeout the item in progress
    still has to finish before supervisord sends SIGKILL. No such file (a container, where no
    supervisord runs the workers): nothing to compare."""
    import configparser

    conf_path = conf_path or Path(settings.SUPERVISOR_CONFIG).parent / WORKERS_CONF
    parser = configparser.RawConfigParser()
    try:
        read = parser.read(conf_path)
    except configparser.Error as exc:
        return [f"cannot read {conf_path}: {exc}"]
    if not read:
        return []
    problems = []
    for section in parser.sections():
        if not section.startswith("program:"):
            continue
        raw = parser.get(section, "stopwaitsecs", fallback=str(SUPERVISOR_DEFAULT_STOPWAITSECS))
        try:
            stopwait = float(raw)
        except ValueError:
            problems.append(f"{conf_path} [{section}]: stopwaitsecs={raw!r} is not a number")
            continue
        if settings.WORKER_STOP_TIMEOUT > stopwait / 2:
            problems.append(
                f"WORKER_STOP_TIMEOUT={settings.WORKER_STOP_TIMEOUT:g} is not well under stopwaitsecs="
                f"{stopwait:g} of [{section}] in {conf_path}: keep it at most {stopwait / 2:g} "
                "(half), so the item in progress finishes before supervisord's SIGKILL"
            )
    return problems


# ----- loading ----------------------------------------------------------------------------------
_REASONS = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
}


def _home_of(overrides: Mapping[str, str], environ: Mapping[str, str]) -> Path:
    return Path(overrides.get("APP_HOME") or environ.get("APP_HOME") or os.getcwd())


@contextmanager
def _sources(overrides: Mapping[str, str], environ: Mapping[str, str], dotenv_path: Path) -> Iterator[None]:
    token = _SOURCES.set((overrides, environ, dotenv_path))
    try:
        yield
    finally:
        _SOURCES.reset(token)


def _one_line(exc: ValidationError, layers: list[tuple[str, Mapping[str, Any]]]) -> ConfigError:
    """The first error as ``setting NAME='value' (from SOURCE): reason``."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    origin, raw = next(((label, layer[name]) for label, layer in layers if name in layer), ("default", None))
    reason = _REASONS.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
    return ConfigError(f"setting {name}={raw!r} (from {origin}): {reason}")


def load(overrides: Mapping[str, str] | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``overrides`` > ``environ`` (default ``os.environ``) > ``.env`` > defaults."""
    overrides = dict(overrides or {})
    env = os.environ if environ is None else environ
    dotenv_path = _home_of(overrides, env) / ".env"
    with _sources(overrides, env, dotenv_path):
        try:
            return Settings()
        except ValidationError as exc:
            from dotenv import dotenv_values

            dotenv = dotenv_values(dotenv_path) if dotenv_path.is_file() else {}
            layers = [("override", overrides), ("environment", env), (str(dotenv_path), dotenv)]
            raise _one_line(exc, layers) from None


def describe() -> list[tuple[str, str, str]]:
    """(name, default, description) for every setting: docs/configuration.md's table comes from here."""
    return [(name, str(f.default), f.description or "") for name, f in Settings.model_fields.items()]


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide Settings, loaded once: for entry points only (library code is handed one)."""
    global _settings
    if _settings is None:
        _settings = load()
    return _settings

"""Settings: precedence, parsing, clear errors, and the table in docs/configuration.md kept true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.config import ConfigError, Settings, load
from tests.support.api_server import stand_in_built_app

REPO = Path(__file__).resolve().parents[3]


def test_reference_defaults() -> None:
    settings = load(environ={"APP_HOME": "/nonexistent-home"})
    assert settings.WORKER_IDLE_INTERVAL == 30
    assert settings.WORKER_MAX_RETRIES == 5
    assert settings.BACKOFF_MIN_DELAY == 1.0
    assert settings.BACKOFF_MAX_DELAY == 300.0
    assert settings.API_PORT == 8001
    assert settings.FRONTEND_PORT == 5173 and settings.WORKER_HEALTH_PORT == 8090


def test_paths_derive_from_the_home(tmp_path: Path) -> None:
    settings = load(environ={"APP_HOME": str(tmp_path)})
    assert settings.DATABASE_URL == f"sqlite:///{tmp_path / 'var' / 'app.db'}"
    assert settings.SUPERVISOR_SOCKET == str(tmp_path / "var" / "run" / "supervisor.sock")
    assert settings.LOG_DIR == str(tmp_path / "logs")
    assert settings.API_URL == "http://127.0.0.1:8001"


def test_default_home_is_the_working_directory(tmp_path: Path) -> None:
    # Nothing is found from the source tree: run from a checkout, the checkout is the home.
    code = "from config.config import load; s = load(); print(s.APP_HOME, s.SUPERVISOR_CONFIG, sep='|')"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "SUPERVISOR_"))}
    for cwd in (tmp_path, REPO):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=30
        )
        assert result.stdout.strip() == f"{cwd}|{cwd / 'supervisord.conf'}", result.stderr


def test_a_home_without_conf_is_one_line_for_supervisor_commands(tmp_path: Path) -> None:
    from config.config import supervisor_config_problem

    problem = supervisor_config_problem(load(environ={"APP_HOME": str(tmp_path)}))
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"{tmp_path / 'supervisord.conf'} does not exist: APP_HOME={tmp_path}")
    assert supervisor_config_problem(load(environ={"APP_HOME": str(REPO)})) is None


def test_environment_beats_dotenv_beats_defaults(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("API_PORT=9100\nFRONTEND_PORT=9200\n# comment\nLOG_LEVEL=DEBUG\n")
    settings = load(environ={"APP_HOME": str(tmp_path), "API_PORT": "9300"})
    assert settings.API_PORT == 9300  # environment
    assert settings.FRONTEND_PORT == 9200  # .env
    assert settings.LOG_LEVEL == "DEBUG"
    assert settings.WORKER_HEALTH_PORT == 8090  # default
    assert load({"API_PORT": "9400"}, environ={"APP_HOME": str(tmp_path)}).API_PORT == 9400


def test_db_parts_build_a_postgres_url(tmp_path: Path) -> None:
    settings = load(
        environ={
            "APP_HOME": str(tmp_path),
            "DB_HOST": "db.internal",
            "DB_NAME": "prod",
            "DB_USER": "svc",
            "DB_PORT": "6543",
        }
    )
    assert settings.DATABASE_URL == "postgresql+psycopg://svc@db.internal:6543/prod"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("API_PORT", "abc", "API_PORT='abc'"),
        ("API_PORT", "70000", "between 1 and 65535"),
        ("WORKER_IDLE_INTERVAL", "soon", "must be a number"),
        ("API_WORKERS", "2.5", "must be a whole number"),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(environ={"APP_HOME": str(tmp_path), name: value})
    assert name in str(info.value) and expected in str(info.value)


def test_a_broken_dotenv_gives_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("API_PORT=eighty\n")
    result = subprocess.run(
        [sys.executable, "-m", "config", "check"],
        env={"APP_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: setting API_PORT='eighty' (from {tmp_path / '.env'}): "
        "must be a port number between 1 and 65535"
    )
    assert "Traceback" not in result.stderr


def test_importing_config_brings_no_database_or_web_framework() -> None:
    # Settings are pydantic-settings (pydantic comes along); tools that only read settings
    # (bin/with-config, ctl --help) still load no database driver or web framework.
    code = (
        "import sys, config.config; "
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'starlette', 'psycopg') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


def test_configuration_page_lists_every_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "config", "markdown"], capture_output=True, text=True, timeout=30, check=True
    )
    readme = (REPO / "docs" / "configuration.md").read_text()
    assert result.stdout.strip() in readme, (
        "docs/configuration.md: the settings table is stale: paste `python -m config markdown`"
    )
    listed = {line.split("`")[1] for line in result.stdout.splitlines()[2:]}
    assert set(Settings.model_fields) == listed


def config_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config", "check"],
        env={"APP_HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_config_check_reports_each_production_problem_on_one_line(tmp_path: Path) -> None:
    nothing_built = str(tmp_path / "dist")
    result = config_check(
        tmp_path, APP_ENV="production", JWT_SECRET="x", LOG_LEVEL="debug", STATIC_DIR=nothing_built
    )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 4, result.stderr
    assert lines[0].startswith("error: JWT_SECRET is 1 bytes: APP_ENV=production needs at least 32")
    assert lines[1].startswith("error: LOG_LEVEL=DEBUG with APP_ENV=production")
    assert lines[2].startswith("error: STATIC_DIR=") and "has no index.html" in lines[2]
    assert lines[3].startswith("error: API_TRUSTED_PROXIES is empty with APP_ENV=production")
    default = config_check(tmp_path, APP_ENV="production")
    assert default.returncode == 2
    assert default.stderr.startswith("error: JWT_SECRET is missing or the development default")


@pytest.mark.parametrize("app_env", ["Production", "prod", "PRODUCTION"])
def test_config_check_refuses_an_unknown_app_env(tmp_path: Path, app_env: str) -> None:
    result = config_check(tmp_path, APP_ENV=app_env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: setting APP_ENV={app_env!r} (from environment): "
        "must be one of development, test, production (exactly, in lower case)"
    )


def test_config_check_passes_production_done_right(tmp_path: Path) -> None:
    done_right = {
        "APP_ENV": "production",
        "JWT_SECRET": "0123456789abcdefghijklmnopqrstuv",  # 32 bytes, 32 distinct characters
        "API_TRUSTED_PROXIES": "127.0.0.1",
        "STATIC_DIR": str(stand_in_built_app(tmp_path / "dist")),
    }
    strong = config_check(tmp_path, **done_right)
    assert (strong.returncode, strong.stdout.strip()) == (0, "configuration OK (APP_ENV=production)")
    forced = config_check(tmp_path, **done_right, LOG_LEVEL="DEBUG", ALLOW_DEBUG_IN_PRODUCTION="yes")
    assert forced.returncode == 0, forced.stderr
    assert config_check(tmp_path, LOG_LEVEL="DEBUG").returncode == 0  # development may debug


def test_problems_is_a_list_other_tools_can_use(tmp_path: Path) -> None:
    from config.checks import problems

    assert problems(load(environ={"APP_HOME": str(tmp_path)})) == []
    found = problems(
        load(environ={"APP_HOME": str(tmp_path), "APP_ENV": "production", "JWT_SECRET": "short"})
    )
    assert len(found) == 1 and "JWT_SECRET is 5 bytes" in found[0]


@pytest.mark.parametrize("secret", ["a" * 40, "ab" * 32, "abcdefghi" * 8])
def test_production_refuses_a_long_secret_of_few_distinct_characters(tmp_path: Path, secret: str) -> None:
    from config.checks import problems

    env = {"APP_HOME": str(tmp_path), "APP_ENV": "production", "JWT_SECRET": secret}
    [found] = [line for line in problems(load(environ=env)) if "JWT_SECRET" in line]
    assert found.startswith(f"JWT_SECRET has {len(set(secret))} distinct characters: APP_ENV=production")
    hex_secret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # 32 random bytes, hex
    assert not [
        line for line in problems(load(environ={**env, "JWT_SECRET": hex_secret})) if "JWT_SECRET" in line
    ]
    assert not problems(load(environ={**env, "APP_ENV": "development"}))  # development may use anything


def test_config_check_compares_the_worker_stop_timeout_with_stopwaitsecs(tmp_path: Path) -> None:
    # A home running the repository's supervisord.conf (the workers.conf beside it is compared).
    env = {**os.environ, "APP_HOME": str(tmp_path), "SUPERVISOR_CONFIG": str(REPO / "supervisord.conf")}
    check = [sys.executable, "-m", "config", "check"]
    ok = subprocess.run(check, env=env, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and ok.stdout.strip().startswith("configuration OK"), ok.stderr
    env["WORKER_STOP_TIMEOUT"] = "45"
    bad = subprocess.run(check, env=env, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
    assert "WORKER_STOP_TIMEOUT=45 is not well under stopwaitsecs=60 of [program:worker]" in bad.stderr
    assert "workers.conf" in bad.stderr and "Traceback" not in bad.stderr


def test_a_program_without_stopwaitsecs_is_held_to_supervisords_default(tmp_path: Path) -> None:
    from config.config import worker_stop_problems

    conf = tmp_path / "workers.conf"
    conf.write_text("[program:worker]\ncommand = %(here)s/run\n")
    assert worker_stop_problems(load({"WORKER_STOP_TIMEOUT": "5"}, environ={}), conf) == []
    [problem] = worker_stop_problems(load({"WORKER_STOP_TIMEOUT": "6"}, environ={}), conf)
    assert "stopwaitsecs=10" in problem


def test_the_image_refuses_to_start_without_a_database_url(tmp_path: Path) -> None:
    from config.checks import problems

    home = {"APP_HOME": str(tmp_path), "REQUIRE_DATABASE_URL": "true"}
    [line] = problems(load(environ=home))
    assert line.startswith("DATABASE_URL is not set: this image keeps no database of its own")
    assert problems(load(environ={**home, "DATABASE_URL": "postgresql+psycopg://db/app"})) == []
    assert problems(load(environ={**home, "DB_HOST": "db.internal"})) == []
    assert problems(load(environ={"APP_HOME": str(tmp_path)})) == []  # SQLite in var/ otherwise


def test_a_missing_home_is_one_line_naming_it(tmp_path: Path) -> None:
    result = config_check(tmp_path / "nowhere")
    assert result.returncode == 2
    assert result.stderr == (
        f"error: APP_HOME={tmp_path / 'nowhere'} does not exist: create it, or point APP_HOME at the "
        "stack's home\n"
    )

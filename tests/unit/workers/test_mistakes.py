"""The likely first mistakes of someone writing a worker get clear errors, not crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from config.config import load
from tests.unit.workers.test_base_worker import ScriptedWorker
from workers import BaseWorker, ExampleWorker

REPO = Path(__file__).resolve().parents[3]


class ForgetsReturn(ScriptedWorker):
    """A process_batch without ``return`` (it returns None) on its first batch."""

    def process_batch(self) -> int:
        if len(self.events) == 1:  # after "startup"
            self.events.append("batch:forgot")
            return None  # type: ignore[return-value]  # the mistake under test
        return super().process_batch()


def test_a_process_batch_returning_none_goes_through_on_error_and_the_backoff() -> None:
    errors: list[Exception] = []

    class Recording(ForgetsReturn):
        def on_error(self, exc: Exception) -> None:
            errors.append(exc)

    worker = Recording([1])
    assert worker.run() == 0  # the loop went on: the next batch ran, then the script ended
    [error] = errors
    assert isinstance(error, TypeError)
    assert "Recording.process_batch() must return an int" in str(error)
    assert "it returned None" in str(error)
    assert worker.sleeps[0] == 1.0  # the first backoff delay (BACKOFF_MIN_DELAY)
    assert worker.status.errors_total == 1
    assert worker.events == ["startup", "batch:forgot", "batch:1", "shutdown"]


@pytest.mark.parametrize("returned", ["3", 2.5, [1]])
def test_any_non_int_is_a_failed_batch_naming_what_came_back(returned: Any) -> None:
    class Returns(ScriptedWorker):
        def process_batch(self) -> int:
            self.stop()
            return returned  # type: ignore[no-any-return]

    worker = Returns([], once=True)
    assert worker.run() == 1
    assert repr(returned) in (worker.status.last_error or "")


def test_a_subclass_of_example_worker_can_name_itself() -> None:
    class Mine(ExampleWorker):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(worker_name="mine", **kwargs)

    class Named(ExampleWorker):
        worker_name = "named"

    settings = load({"DATABASE_URL": "sqlite://"}, environ={})
    mine = Mine(settings=settings, worker_id=3, health_port=None)
    named = Named(settings=settings, health_port=None)
    try:
        assert mine.worker_name == "mine" and mine.label.endswith(":mine-3")
        assert named.worker_name == "named" and named.status.worker_name == "named"
    finally:
        mine.stop()
        named.stop()


def test_run_cli_returns_the_exit_code_and_leaves_the_process_running() -> None:
    class OneBatch(BaseWorker):
        worker_name = "one_batch"

        def process_batch(self) -> int:
            return 0

    class Failing(OneBatch):
        def process_batch(self) -> int:
            raise RuntimeError("nope")

    assert OneBatch.run_cli(["--once"]) == 0
    assert Failing.run_cli(["--once"]) == 1
    assert OneBatch.run_cli(["--no-such-flag"]) == 2


MY_WORKER = textwrap.dedent(
    """
    import sys
    import httpx
    from workers import BaseWorker

    class MyWorker(BaseWorker):
        '''Polls a URL.'''
        worker_name = "my_worker"

        def process_batch(self) -> int:
            httpx.get(f"http://127.0.0.1:{self.health_server.port}/health")
            return 1

    if __name__ == "__main__":
        sys.exit(MyWorker.main())
    """
)


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "my_worker.py"
    script.write_text(MY_WORKER)
    env = {**os.environ, "APP_HOME": str(tmp_path), "APP_ENV": "test"}
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_names_the_script_that_was_run(tmp_path: Path) -> None:
    result = run_script(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python my_worker.py")
    assert "__main__" not in result.stdout


def test_httpx_request_lines_stay_out_of_the_worker_log(tmp_path: Path) -> None:
    result = run_script(tmp_path, "--once", "--health-port", "0")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stderr  # the worker's own INFO lines are there
    assert "HTTP Request" not in result.stderr

"""``python -m workers run MODULE:CLASS``: a team's worker by path on both backends, its option
declared once, its queue in ``ctl status`` and in the worker's metrics; bad class paths and
unknown flags refused in one line with exit 2; two programs on one table, two tables at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from config.config import load
from store.models import ItemStatus
from tests.integration.workers.links import LinksDatabase, LinkStamper
from tests.integration.workers.support import REPO, ItemsDatabase

TEAM_MODULE = '''\
"""A team's worker, outside this repository."""

import sys

from workers import ClaimedItem, ItemResult, ItemWorker
from workers.options import Option


class Shouter(ItemWorker):
    """Upper-cases titles, with as many ! as --volume says."""

    worker_name = "shouter"
    volume = Option(default=1, parse=int, minimum=1, metavar="N", help="how many !")

    def process_item(self, item: ClaimedItem) -> ItemResult:
        return ItemResult(title=item.title.upper() + "!" * self.volume)


class NotAWorker:
    pass


if __name__ == "__main__":
    sys.exit(Shouter.main())
'''


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A project of its own: ``team/shouter.py`` on its PYTHONPATH, its home with var/."""
    (tmp_path / "src" / "team").mkdir(parents=True)
    (tmp_path / "src" / "team" / "__init__.py").write_text("")
    (tmp_path / "src" / "team" / "shouter.py").write_text(TEAM_MODULE)
    (tmp_path / "src" / "team" / "broken.py").write_text("import no_such_module_anywhere\n")
    (tmp_path / "var").mkdir(exist_ok=True)
    return tmp_path


def team_env(team: Path, database_url: str = "") -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{team / 'src'}{os.pathsep}{REPO}",
        "APP_HOME": str(team),
        "APP_ENV": "test",
        "API_URL": "http://127.0.0.1:9",  # nothing there: ctl status says unreachable at once
        "SUPERVISOR_CONFIG": str(team / "supervisord.conf"),  # absent: no supervisord
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def command(team: Path, *args: str, database_url: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=team,
        env=team_env(team, database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_teams_worker_runs_by_path_with_its_own_option(team: Path, database_url: str) -> None:
    items = ItemsDatabase.create(database_url)
    try:
        items.add_items(3, title="hey")
        help_text = command(team, "workers", "run", "team.shouter:Shouter", "--help").stdout
        assert help_text.startswith("usage: python -m workers run team.shouter:Shouter")
        assert "--volume N" in help_text and "how many ! (default: 1)" in help_text
        assert "--batch-size N" in help_text and "(WORKER_BATCH_SIZE)" in help_text
        result = command(
            team,
            *("workers", "run", "team.shouter:Shouter", "--once", "--volume", "2", "--batch-size", "2"),
            database_url=database_url,
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        done = sorted(item.title for item in items.items() if item.status == ItemStatus.DONE)
        assert done == ["HEY 0!!", "HEY 1!!"]  # --batch-size 2: one batch of two
        # The team's own `python -m team.shouter` (Shouter.main()) is the same command.
        result = command(team, "team.shouter", "--once", database_url=database_url)
        assert result.returncode == 0, result.stderr
        assert [item.title for item in items.items()][-1] == "HEY 2!"
    finally:
        items.close()


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("team.nothing:Shouter", "cannot import team.nothing: ModuleNotFoundError"),
        ("team.broken:Worker", "cannot import team.broken: ModuleNotFoundError"),
        ("team.shouter:Whisperer", "team.shouter has no Whisperer"),
        ("team.shouter:NotAWorker", "team.shouter:NotAWorker is not a worker class"),
        ("team.shouter:sys", "team.shouter:sys is not a worker class"),
        ("workers.item_worker:ItemWorker", "is abstract: it does not implement process_item"),
        ("team.shouter", "'team.shouter' is not MODULE:CLASS"),
    ],
)
def test_a_bad_class_path_is_one_line_and_exit_2(team: Path, target: str, says: str) -> None:
    result = command(team, "workers", "run", target, "--once")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert result.stderr.startswith("python -m workers run: error: ")


def test_an_unknown_or_bad_option_is_argparses_message_and_exit_2(team: Path) -> None:
    result = command(team, "workers", "run", "team.shouter:Shouter", "--loudness", "3")
    assert result.returncode == 2
    assert "error: unrecognized arguments: --loudness 3" in result.stderr
    assert "Traceback" not in result.stderr
    result = command(team, "workers", "run", "team.shouter:Shouter", "--volume", "0")
    assert result.returncode == 2
    assert "error: argument --volume: volume must be at least 1, got 0" in result.stderr
    result = command(team, "workers", "launch", "team.shouter:Shouter")
    assert result.returncode == 2 and "invalid choice: 'launch'" in result.stderr


def test_two_programs_on_one_table_and_two_tables_in_view(team: Path, database_url: str) -> None:
    """The items table and a team's links table in one database: two programs (two classes by
    path) on links at once, the shouter on items; ``ctl status`` lists both queues (found in the
    database: ctl imports neither module) and a worker's /metrics counts both."""
    items = ItemsDatabase.create(database_url)
    links = LinksDatabase(database_url)
    try:
        items.add_items(2)
        links.add_links([f"https://example.org/{i}" for i in range(20)])
        programs = [
            ["tests.integration.workers.links:LinkStamper"],
            ["tests.integration.workers.links:UrlLengths"],
            ["team.shouter:Shouter"],
        ]
        running = [
            subprocess.Popen(
                [sys.executable, "-m", "workers", "run", *target, "--once", "--batch-size", "8"],
                cwd=team,
                env=team_env(team, database_url),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for target in programs
        ]
        for process in running:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        counts = links.counts()
        assert counts == {ItemStatus.DONE: 16, ItemStatus.PENDING: 4}  # a batch of 8 each, none twice
        by = {link.checked_by.rsplit(":", 1)[1] for link in links.links() if link.checked_by}
        assert by == {"link_stamper-0", "url_lengths-0"}

        status = command(team, "cli.ctl", "status", "--json", database_url=database_url)
        report = json.loads(status.stdout)
        queues = report["database"]["queues"]
        assert list(queues) == ["items", "links"]
        assert queues["links"] == {"pending": 4, "processing": 0, "done": 16, "failed": 0, "total": 20}
        assert queues["items"]["done"] == 2 and report["database"]["items"]["done"] == 2
        text = command(team, "cli.ctl", "status", database_url=database_url).stdout
        assert "  items     pending 0, processing 0, done 2, failed 0  (total 2)" in text
        assert "  links     pending 4, processing 0, done 16, failed 0  (total 20)" in text

        worker = LinkStamper(
            settings=load({"DATABASE_URL": database_url}, environ={}), handle_signals=False, batch_size=4
        )
        try:
            assert worker.process_batch() == 4
        finally:
            worker.stop()
        metrics = generate_latest(worker.status.registry).decode()
        assert 'worker_queue_items{queue="links",status="done"} 16.0' in metrics
        assert 'worker_queue_items{queue="items",status="done"} 2.0' in metrics
    finally:
        links.close()
        items.close()

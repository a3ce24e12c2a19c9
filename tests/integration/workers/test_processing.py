"""Real worker processes on both backends: items get done, poison items fail, idle workers wake."""

from __future__ import annotations

from pathlib import Path

from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase, WorkerProcess
from tests.support.wait import wait_until


def test_three_workers_share_the_items_without_errors(items_db: ItemsDatabase, tmp_path: Path) -> None:
    workers = [
        WorkerProcess(tmp_path, items_db.url, worker_id=n, env={"WORKER_BATCH_SIZE": "7"}) for n in range(3)
    ]
    try:
        for worker in workers:
            worker.start()
        # All three serve health before there is work, or a slow starter finds nothing left to do
        # and may not be listening yet when the others have finished.
        for worker in workers:
            worker.wait_ready()
        items_db.add_items(300)
        wait_until(
            lambda: items_db.counts() == {ItemStatus.DONE: 300},
            timeout=60,
            interval=0.25,
            message=lambda: f"all done: {items_db.counts()}",
        )
        bodies = [worker.health()[1] for worker in workers]
    finally:
        for worker in workers:
            worker.stop()
    assert [b["errors_total"] for b in bodies] == [0, 0, 0], bodies
    assert sum(b["items_processed"] for b in bodies) == 300  # each item handled once
    assert all(item.attempts == 1 for item in items_db.items())


def test_poison_item_fails_after_max_retries_and_the_others_finish(
    items_db: ItemsDatabase, tmp_path: Path
) -> None:
    good = items_db.add_items(20)
    [poison] = items_db.add_items(1, title="poison", metadata={"fail": True})
    env = {"WORKER_MAX_RETRIES": "3", "BACKOFF_MIN_DELAY": "0.05", "BACKOFF_MAX_DELAY": "0.2"}
    with WorkerProcess(tmp_path, items_db.url, env=env) as worker:
        wait_until(
            lambda: items_db.counts() == {ItemStatus.DONE: 20, ItemStatus.FAILED: 1},
            timeout=30,
            message=lambda: f"poison failed, others done: {items_db.counts()}\n{worker.log_tail()}",
        )
        status, body = worker.health()
    assert status == 200 and body["consecutive_errors"] == 0  # an item's failure is not the loop's
    items = {item.id: item for item in items_db.items()}
    assert items[poison].attempts == 3
    assert items[poison].error == 'PoisonItemError: metadata has "fail": true'
    assert all(items[i].status == ItemStatus.DONE and items[i].attempts == 1 for i in good)


def test_idle_worker_is_woken_by_new_items_not_by_its_poll(items_db: ItemsDatabase, tmp_path: Path) -> None:
    # Both intervals 30 s: any pick-up within seconds comes from NOTIFY / PRAGMA data_version.
    args = ["--idle-interval", "30", "--active-interval", "30"]
    with WorkerProcess(tmp_path, items_db.url, args=args) as worker:
        worker.wait_ready()
        worker.wait_state("idle")
        for round_ in range(1, 3):
            items_db.add_items(1)
            wait_until(
                lambda: items_db.counts().get(ItemStatus.DONE) == round_,  # noqa: B023
                timeout=10,
                message=lambda: f"item picked up; log:\n{worker.log_tail()}",
            )
            worker.wait_state("idle")


def test_worker_started_before_its_database_recovers_by_itself(database_url: str, tmp_path: Path) -> None:
    """The database is unreachable at start: the worker stays up, not ready, and recovers alone."""
    if database_url.startswith("sqlite"):
        blocker = tmp_path / "blocked"
        blocker.write_text("a file where the database directory should be")
        url = f"sqlite:///{blocker / 'app.db'}"
    else:
        url = database_url.rsplit("/", 1)[0] + "/" + database_url.rsplit("/", 1)[1] + "_later"
    with WorkerProcess(tmp_path, url) as worker:
        body = wait_until(
            lambda: (r := worker.health())[1]["consecutive_errors"] >= 2 and r[1],
            timeout=30,
            message=lambda: f"errors reported; log:\n{worker.log_tail()}",
        )
        assert body["state"] in ("backing_off", "running")
        assert worker.get("/readyz").status_code == 503
        assert worker.get("/livez").status_code == 200
        # The database comes back (created and migrated as the API would), with work waiting.
        if database_url.startswith("sqlite"):
            blocker.unlink()
            db = ItemsDatabase.create(url)
        else:
            db = _create_postgres_database(url)
        try:
            db.add_items(5)
            worker.wait_ready(timeout=30)
            wait_until(
                lambda: db.counts() == {ItemStatus.DONE: 5},
                timeout=30,
                message=lambda: f"items done after recovery; log:\n{worker.log_tail()}",
            )
            assert "recovered after" in worker.log_text()
            assert worker.process is not None and worker.process.poll() is None
        finally:
            db.close()
            if not database_url.startswith("sqlite"):
                _drop_postgres_database(url)


def _create_postgres_database(url: str) -> ItemsDatabase:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return ItemsDatabase.create(url)


def _drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()

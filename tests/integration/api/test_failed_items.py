"""Failed items of any queue table, through the API and ``ctl queue`` (both backends): listed with
their error; requeued one at a time (an item no longer failed: 409 / exit 1, nothing changed) or
all at once (10,000 in batches, reported); an unknown table or an odd id is a 404; admins only; a
worker processes what was requeued; every requeue is in the audit log, refused ones too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, insert, select

from cli.ctl import cli
from config.config import load
from store.models import Item
from tests.integration.api.conftest import Caller, LiveApi
from tests.integration.workers.notes import Note, NotesBase, TitleWorker

FAILED = "/api/v1/admin/queue/{table}/failed"


@pytest.fixture(scope="module")
def notes(live_api: LiveApi) -> Iterator[type[Note]]:
    """A team's queue table of its own (docs/extending.md): the workers tests' ``notes``."""
    NotesBase.metadata.create_all(live_api.database.engine)
    yield Note
    NotesBase.metadata.drop_all(live_api.database.engine)


def add_failed(live_api: LiveApi, table: Any, count: int, **values: Any) -> list[int]:
    rows = [{"status": "failed", "attempts": 5, "error": f"boom {n}", **values} for n in range(count)]
    with live_api.database.engine.begin() as conn:
        return list(conn.execute(insert(table).returning(table.id), rows).scalars())


def statuses(live_api: LiveApi, table: Any) -> dict[str, int]:
    with live_api.database.engine.connect() as conn:
        return dict(conn.execute(select(table.status, func.count()).group_by(table.status)).all())  # type: ignore[arg-type]


def audit_entries(http: httpx.Client, admin: Caller, **query: Any) -> list[dict[str, Any]]:
    response = http.get("/api/v1/admin/audit", params={"limit": 200, **query}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_failed_items_are_listed_and_requeued_one_at_a_time(
    live_api: LiveApi, http: httpx.Client, admin: Caller, owner: Caller
) -> None:
    ids = add_failed(live_api, Item, 3, user_id=owner.id, title="t")
    url = FAILED.format(table="items")
    page = http.get(url, params={"limit": 2}, headers=admin.headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["table"] == "items" and body["total"] >= 3 and body["limit"] == 2
    assert [(i["id"], i["error"], i["attempts"]) for i in body["items"]] == [
        (ids[2], "boom 2", 5),
        (ids[1], "boom 1", 5),
    ]
    assert body["items"][0]["failed_at"] and body["next_cursor"] == ids[1]
    older = http.get(url, params={"limit": 1, "after": body["next_cursor"]}, headers=admin.headers).json()
    assert [i["id"] for i in older["items"]] == [ids[0]]

    response = http.post(f"{url}/{ids[1]}/requeue", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"table": "items", "requeued": 1, "remaining": body["total"] - 1}
    item = http.get(f"/api/v1/items/{ids[1]}", headers=owner.headers).json()
    assert (item["status"], item["attempts"], item["error"]) == ("pending", 0, None)
    assert ids[1] not in [i["id"] for i in http.get(url, headers=admin.headers).json()["items"]]

    # Requeued already: 409, and the item is left exactly as it is.
    again = http.post(f"{url}/{ids[1]}/requeue", headers=admin.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert (
        again.json()["error"]["message"] == f"item {ids[1]} of items is pending, not failed: nothing changed"
    )
    assert http.get(f"/api/v1/items/{ids[1]}", headers=owner.headers).json() == item

    entries = [
        e
        for e in audit_entries(http, admin, action="queue.requeue")
        if e["target"] == f"item {ids[1]} of items"
    ]
    assert [(e["outcome"], e["actor"], e["user_id"], e["via"]) for e in entries] == [
        ("failed", admin.email, admin.id, "api"),
        ("ok", admin.email, admin.id, "api"),
    ]
    assert entries[0]["error"] == again.json()["error"]["message"] and entries[1]["error"] is None


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/admin/queue/nosuch/failed", 404),
        ("GET", "/api/v1/admin/queue/users/failed", 404),  # a table, but not a queue
        ("POST", "/api/v1/admin/queue/nosuch/failed/requeue", 404),
        ("POST", "/api/v1/admin/queue/nosuch/failed/1/requeue", 404),
        ("POST", "/api/v1/admin/queue/items/failed/999999999/requeue", 404),
        ("POST", "/api/v1/admin/queue/items/failed/010/requeue", 404),
        ("POST", "/api/v1/admin/queue/items/failed/1_0/requeue", 404),
        ("POST", "/api/v1/admin/queue/items/failed/0/requeue", 404),
        ("POST", "/api/v1/admin/queue/items/failed/99999999999999999999/requeue", 404),
        ("GET", "/api/v1/admin/queue/items/failed?limit=0", 422),
        ("GET", "/api/v1/admin/queue/items/failed?limit=501", 422),
        ("GET", "/api/v1/admin/queue/items/failed?after=-1", 422),
        ("GET", "/api/v1/admin/queue/" + "x" * 129 + "/failed", 422),
    ],
)
def test_unknown_tables_odd_ids_and_bad_limits(
    http: httpx.Client, admin: Caller, method: str, path: str, status: int
) -> None:
    response = http.request(method, path, headers=admin.headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == {404: "not_found", 422: "validation_error"}[status]


def test_a_done_item_is_not_requeued(
    live_api: LiveApi, http: httpx.Client, admin: Caller, owner: Caller
) -> None:
    [done] = add_failed(live_api, Item, 1, user_id=owner.id, title="done", status="done", error=None)
    response = http.post(f"{FAILED.format(table='items')}/{done}/requeue", headers=admin.headers)
    assert response.status_code == 409
    assert http.get(f"/api/v1/items/{done}", headers=owner.headers).json()["status"] == "done"


def test_failed_items_are_for_admins_only(http: httpx.Client, owner: Caller) -> None:
    for method, path in (
        ("GET", "/api/v1/admin/queue/items/failed"),
        ("POST", "/api/v1/admin/queue/items/failed/requeue"),
        ("POST", "/api/v1/admin/queue/items/failed/1/requeue"),
        ("GET", "/api/v1/admin/audit"),
    ):
        assert http.request(method, path, headers=owner.headers).status_code == 403, path
        assert http.request(method, path).status_code == 401, path


def test_requeue_all_of_10000_in_a_teams_table_and_a_worker_takes_them(
    live_api: LiveApi, http: httpx.Client, admin: Caller, notes: type[Note]
) -> None:
    failed = add_failed(live_api, Note, 10_000, title="chore")
    add_failed(live_api, Note, 2, title="finished", status="done", error=None)
    url = FAILED.format(table="notes")
    assert http.get(url, headers=admin.headers).json()["total"] == 10_000

    response = http.post(f"{url}/requeue", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"table": "notes", "requeued": 10_000, "remaining": 0}
    assert statuses(live_api, Note) == {"pending": 10_000, "done": 2}
    with live_api.database.engine.connect() as conn:
        fresh = select(func.max(Note.attempts), func.count(Note.error)).where(Note.status == "pending")
        assert conn.execute(fresh).one() == (0, 0)  # attempts 0, errors cleared
    [entry] = audit_entries(http, admin, action="queue.requeue_all")[:1]
    assert (entry["target"], entry["outcome"], entry["detail"]) == (
        "notes",
        "ok",
        "requeued 10000, 0 still failed",
    )

    # Nothing left to requeue: reported as such.
    assert http.post(f"{url}/requeue", headers=admin.headers).json() == {
        "table": "notes",
        "requeued": 0,
        "remaining": 0,
    }

    # A worker takes the requeued items as new ones: their first attempt, done.
    settings = load({"DATABASE_URL": live_api.database_url, "WORKER_BATCH_SIZE": "50"}, environ={})
    worker = TitleWorker(settings=settings, health_port=None, handle_signals=False, once=True)
    try:
        assert worker.process_batch() == 50
    finally:
        worker.stop()
    with live_api.database.engine.connect() as conn:
        rows = conn.execute(
            select(Note.id, Note.status, Note.attempts, Note.title).where(Note.id.in_(failed[:50]))
        ).all()
    assert {(r.status, r.attempts, r.title) for r in rows} == {("done", 1, "chore [titled by attempt 1]")}


# ----- ctl queue failed / requeue: the same through store/, no API ---------------------------------


def ctl(live_api: LiveApi, tmp_path: Path, *args: str, input: str | None = None) -> Result:  # noqa: A002 - CliRunner's name
    env = {"APP_HOME": str(tmp_path), "APP_ENV": "test", "DATABASE_URL": live_api.database_url}
    return CliRunner(env=env).invoke(cli, list(args), input=input)


def test_ctl_lists_and_requeues_failed_items_and_is_audited(
    live_api: LiveApi, http: httpx.Client, admin: Caller, owner: Caller, notes: type[Note], tmp_path: Path
) -> None:
    ids = add_failed(live_api, Note, 3, title="ctl")
    listed = ctl(live_api, tmp_path, "queue", "failed", "--table", "notes", "--limit", "2")
    assert listed.exit_code == 0 and listed.exception is None, listed.output
    lines = listed.output.splitlines()
    assert lines[0] == "3 failed in notes, the newest 2:"
    assert lines[2].split()[:2] == [str(ids[2]), "5"] and lines[2].endswith("boom 2")
    as_json = ctl(live_api, tmp_path, "queue", "failed", "--table", "notes", "--json")
    assert [i["id"] for i in json.loads(as_json.output)["items"]] == ids[::-1]

    done = ctl(live_api, tmp_path, "queue", "requeue", "--table", "notes", str(ids[0]), "--as", admin.email)
    assert done.exit_code == 0, done.output
    assert done.output == f"requeued item {ids[0]} of notes\n"
    again = ctl(live_api, tmp_path, "queue", "requeue", "--table", "notes", str(ids[0]))
    assert again.exit_code == 1
    assert again.output == f"Error: item {ids[0]} of notes is pending, not failed: nothing changed\n"
    assert statuses(live_api, Note).get("failed") == 2

    every = ctl(live_api, tmp_path, "queue", "requeue", "--table", "notes", "--all", "--yes")
    assert every.exit_code == 0 and every.output == "requeued 2 items of notes; 0 still failed\n"

    entries = audit_entries(http, admin)[:3]
    assert [(e["action"], e["via"], e["outcome"]) for e in entries] == [
        ("queue.requeue_all", "ctl", "ok"),
        ("queue.requeue", "ctl", "failed"),
        ("queue.requeue", "ctl", "ok"),
    ]
    assert entries[2]["actor"] == admin.email and entries[2]["user_id"] == admin.id
    assert entries[1]["actor"].startswith("os:") and entries[1]["user_id"] is None  # no --as: the OS user

    log = ctl(live_api, tmp_path, "audit", "--limit", "3")
    assert log.exit_code == 0, log.output
    assert log.output.splitlines()[1].split()[3:6] == ["ctl", "queue.requeue_all", "notes"]
    assert "failed: item" in log.output.splitlines()[2]
    as_json = json.loads(ctl(live_api, tmp_path, "audit", "--json", "--action", "queue.requeue").output)
    assert {e["action"] for e in as_json} == {"queue.requeue"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["queue", "failed", "--table", "nosuch"], 2, "Error: no queue table 'nosuch'"),
        (["queue", "requeue", "--table", "users", "1"], 2, "Error: no queue table 'users'"),
        (["queue", "requeue"], 2, "Error: give item ids or --all"),
        (["queue", "requeue", "1", "--all"], 2, "Error: give item ids or --all"),
        (["queue", "requeue", "999999999"], 1, "Error: no item 999999999 in items"),
        (
            ["queue", "requeue", "1", "--as", "nobody@example.com"],
            2,
            "Error: --as nobody@example.com: no active admin",
        ),
        (["queue", "requeue", "0"], 2, "Invalid value"),
        (["queue", "failed", "--limit", "501"], 2, "Invalid value"),
        (["audit", "--limit", "0"], 2, "Invalid value"),
        (["audit", "--limit", "1001"], 2, "Invalid value"),
    ],
)
def test_ctl_refuses_bad_input_in_one_line(
    live_api: LiveApi, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = ctl(live_api, tmp_path, *args)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output

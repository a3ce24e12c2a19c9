"""GET /api/v1/admin/queue lists every queue table: a team's ``links`` table next to ``items``,
counted by status, without the API importing the team's module (it finds the table's columns);
a queue table dropped meanwhile costs no error."""

from __future__ import annotations

from typing import Any

from tests.integration.api.conftest import Caller, LiveApi
from tests.integration.workers.links import Link, LinksBase, LinksDatabase
from tests.support.wait import wait_until


def test_a_teams_queue_table_is_counted_next_to_items(
    live_api: LiveApi, admin: Caller, owner: Caller
) -> None:
    links = LinksDatabase(live_api.database_url)  # creates the table in the API's database
    try:
        links.add_links(["https://example.org/a", "https://example.org/b", "bad:c"])
        with links.db.engine.begin() as conn:
            conn.execute(Link.__table__.update().where(Link.url == "bad:c").values(status="failed"))
        http = live_api.client()
        seen: dict[str, Any] = {}

        def links_counted() -> bool:
            response = http.get("/api/v1/admin/queue", headers=admin.headers)
            assert response.status_code == 200, response.text
            seen.update(response.json())
            return any(q["table"] == "links" for q in seen["queues"])

        wait_until(links_counted, timeout=30, message=lambda: f"links in GET /admin/queue: {seen}")
        tables = [q["table"] for q in seen["queues"]]
        assert tables[0] == "items" and "links" in tables
        [counted] = [q for q in seen["queues"] if q["table"] == "links"]
        assert counted == {
            "table": "links",
            "counts": {"pending": 2, "processing": 0, "done": 0, "failed": 1},
            "total": 3,
            "finished": 1,
        }
        items = seen["queues"][0]
        assert (items["counts"], items["total"]) == (seen["counts"], seen["total"])  # the top level: items
        assert http.get("/api/v1/admin/queue", headers=owner.headers).status_code == 403

        # The table dropped while the API keeps its list of tables: the panel goes on answering.
        LinksBase.metadata.drop_all(links.db.engine)

        def links_gone() -> bool:
            response = http.get("/api/v1/admin/queue", headers=admin.headers)
            assert response.status_code == 200, response.text
            return all(q["table"] != "links" for q in response.json()["queues"])

        wait_until(links_gone, timeout=30, message="links gone from GET /admin/queue")
        http.close()
    finally:
        LinksBase.metadata.drop_all(links.db.engine)
        links.close()

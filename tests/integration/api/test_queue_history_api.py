"""GET /api/v1/admin/queue/history (both backends, the real API under gunicorn): a week of samples
answers at most 360 points, oldest first, with done/failed as rates per minute; an hour answers
the last hour; bad input is a 422; admins only. (The table's bounds: tests/integration/store.)"""

from __future__ import annotations

import secrets
import time

import httpx
from sqlalchemy import insert

from store.models import QueueSample
from tests.integration.api.conftest import Caller, LiveApi

HISTORY = "/api/v1/admin/queue/history"


def test_a_week_of_samples_answers_bounded_points_with_rates(
    live_api: LiveApi, http: httpx.Client, admin: Caller, owner: Caller
) -> None:
    queue = f"hist_{secrets.token_hex(3)}"  # a queue of this test's own: nobody else writes it
    now = int(time.time())
    week = [
        {
            "at": now - s * 60,
            "queue": queue,
            "pending": 3,
            "processing": 1,
            "done": 50_000 - 6 * s,
            "failed": 0,
        }
        for s in range(7 * 24 * 60)
    ]
    with live_api.database.engine.begin() as conn:
        for start in range(0, len(week), 5000):
            conn.execute(insert(QueueSample), week[start : start + 5000])

    r = http.get(HISTORY, params={"hours": 168, "queue": queue}, headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    points = body["points"]
    assert body["queue"] == queue and queue in body["queues"]
    assert 300 <= len(points) <= 360 and body["bucket_seconds"] * 360 >= 168 * 3600
    assert [p["at"] for p in points] == sorted(p["at"] for p in points)
    assert points[0]["done_per_minute"] is None
    assert all(abs(p["done_per_minute"] - 6.0) < 0.3 and p["failed_per_minute"] == 0 for p in points[1:])
    assert {p["pending"] for p in points} == {3.0}

    hour = http.get(HISTORY, params={"hours": 1, "queue": queue}, headers=admin.headers).json()["points"]
    assert 55 <= len(hour) <= 61 and hour[0]["at"] >= now - 3600

    for bad in ({"hours": 0}, {"hours": 10_000}, {"queue": "no such;"}, {"points": 361}):
        assert http.get(HISTORY, params=bad, headers=admin.headers).status_code == 422, bad
    assert http.get(HISTORY, headers=owner.headers).status_code == 403
    assert http.get(HISTORY).status_code == 401
